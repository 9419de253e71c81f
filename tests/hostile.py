"""A corpus of hostile and odd media files, made in the test with the real FFmpeg (and by hand for the
broken ones). Each case says what must become of it:

- `rejected`: the upload is refused with a 4xx (not a video container, no video stream, ...);
- `ready`: a playable result is possible, so the video must end ready;
- `failed`: nothing playable can come of it: it must end `failed` with a reason (here: FFmpeg stalls);
- `settles`: damaged input where any outcome is right as long as it is clear: refused with a 4xx, or ending
  `ready`, or `failed` with a reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .clips import ffmpeg

REJECTED, READY, FAILED, SETTLES = "rejected", "ready", "failed", "settles"


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: str


def video(path: Path, *, size: str = "320x240", rate: str = "25", seconds: float = 1.0, audio: bool = True,
          vcodec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
          acodec: tuple[str, ...] = ("-c:a", "aac"), source: str = "testsrc2", before: tuple[str, ...] = (),
          extra: tuple[str, ...] = ()) -> Path:  # fmt: skip
    spec = f"{source}:size={size}:rate={rate}" if "=" in source else f"{source}=size={size}:rate={rate}"
    inputs = [*before, "-f", "lavfi", "-i", spec]
    if audio:
        inputs += ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000"]
    ffmpeg(*inputs, "-t", str(seconds), *vcodec, *(acodec if audio else ()), *extra, str(path))
    return path


def audio_only(path: Path, *codec: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", *codec, str(path))
    return path


def with_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def claim_duration(source: Path, path: Path, seconds: int) -> Path:
    """The MP4 with its headers (movie, track and media durations) claiming `seconds` (e.g. 3 h) while its
    frames last one second. Version-0 boxes, as FFmpeg writes them for short files."""
    data = bytearray(source.read_bytes())

    def boxes(name: bytes):
        at = data.find(name)
        while at != -1:
            if data[at + 4] == 0:  # version 0: 32-bit times
                yield at
            at = data.find(name, at + 1)

    movie_scale = 1000
    for at in boxes(b"mvhd"):
        movie_scale = struct.unpack(">I", data[at + 16 : at + 20])[0]
        data[at + 20 : at + 24] = struct.pack(">I", seconds * movie_scale)
    for at in boxes(b"tkhd"):  # track duration, in the movie's timescale
        data[at + 24 : at + 28] = struct.pack(">I", seconds * movie_scale)
    for at in boxes(b"mdhd"):  # media duration, in the track's own timescale
        scale = struct.unpack(">I", data[at + 16 : at + 20])[0]
        data[at + 20 : at + 24] = struct.pack(">I", min(seconds * scale, 0xFFFFFFFF))
    path.write_bytes(bytes(data))
    return path


def garble(source: Path, path: Path, start: float, stop: float) -> Path:
    """Overwrite a share of the file (from start to stop, as fractions of its size) with noise."""
    data = bytearray(source.read_bytes())
    for i in range(int(len(data) * start), int(len(data) * stop)):
        data[i] = (data[i] * 73 + 41) & 0xFF
    path.write_bytes(bytes(data))
    return path


def make_corpus(folder: Path) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder.joinpath
    base = video(f("base.mp4"), extra=("-movflags", "+faststart"))
    base_data = base.read_bytes()
    moov_last = video(f("moov-last.mp4"))  # moov after mdat: a truncated copy loses the index
    cases = [
        # not video at all, or nothing to decode: refused at the door
        Case("zero bytes", with_bytes(f("empty.mp4"), b""), REJECTED),
        Case("text renamed .mp4", with_bytes(f("notes.mp4"), b"This is not a film.\n" * 50), REJECTED),
        Case("random bytes", with_bytes(f("random.mp4"), bytes((i * 7919) % 251 for i in range(50_000))), REJECTED),
        Case("HTML page", with_bytes(f("page.mp4"), b"<!doctype html><title>x</title>" * 40), REJECTED),
        Case("PDF header", with_bytes(f("doc.mp4"), b"%PDF-1.7\n" + b"0" * 4000), REJECTED),
        Case("ZIP archive", with_bytes(f("archive.mp4"), b"PK\x03\x04" + b"\0" * 4000), REJECTED),
        Case("ELF binary", with_bytes(f("program.mp4"), b"\x7fELF\x02\x01\x01" + b"\0" * 4000), REJECTED),
        Case("only an ftyp box", with_bytes(f("ftyp-only.mp4"), base_data[:32]), REJECTED),
        Case("MP4 header, first 1 KiB", with_bytes(f("head-1k.mp4"), base_data[:1024]), SETTLES),
        Case(
            "moov-last MP4 cut in half",
            with_bytes(f("no-index.mp4"), moov_last.read_bytes()[: moov_last.stat().st_size // 2]),
            REJECTED,
        ),
        Case("audio only AAC in MP4", audio_only(f("audio.m4a.mp4"), "-c:a", "aac", "-f", "mp4"), REJECTED),
        Case("audio only in Matroska", audio_only(f("audio.mka.mkv"), "-c:a", "aac", "-f", "matroska"), REJECTED),
        Case("audio only MP3", audio_only(f("audio.mp3"), "-c:a", "libmp3lame"), REJECTED),
        Case("audio only WAV", audio_only(f("audio.wav"), "-c:a", "pcm_s16le"), REJECTED),
        Case("JPEG image", video(f("still.jpg"), audio=False, vcodec=("-frames:v", "1")), REJECTED),
        Case("PNG image", video(f("still.png"), audio=False, vcodec=("-frames:v", "1")), REJECTED),
        # odd but playable: must end ready
        Case("video without audio", video(f("silent.mp4"), audio=False), READY),
        Case(
            "1x1 px",
            video(
                f("1x1.mp4"),
                size="1x1",
                source="color=c=red",
                audio=False,
                vcodec=("-c:v", "libx264", "-pix_fmt", "yuv444p"),
            ),
            READY,
        ),
        Case("2x2 px", video(f("2x2.mp4"), size="2x2", source="color=c=blue"), READY),
        Case("16x16 px", video(f("16x16.mp4"), size="16x16"), READY),
        Case(
            "853x479 odd size",
            video(
                f("853x479.mp4"),
                size="853x479",
                source="testsrc",
                vcodec=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"),
            ),
            READY,
        ),
        Case(
            "101x57 odd size", video(f("101x57.mkv"), size="101x57", source="testsrc", vcodec=("-c:v", "ffv1")), READY
        ),
        Case("portrait 360x640", video(f("portrait.mp4"), size="360x640"), READY),
        Case(
            "rotated phone video (90 deg)",
            video(f("rotated.mp4"), size="640x360", before=("-display_rotation", "90")),
            READY,
        ),
        Case("rotated 270 deg", video(f("rotated270.mp4"), size="640x360", before=("-display_rotation", "270")), READY),
        Case("10-bit 4:2:0 (FFV1)", video(f("10bit.mkv"), vcodec=("-c:v", "ffv1", "-pix_fmt", "yuv420p10le")), READY),
        Case("10-bit 4:2:2 (ProRes)", video(f("prores.mov"), vcodec=("-c:v", "prores_ks", "-profile:v", "2")), READY),
        Case(
            "4:4:4 H.264",
            video(f("444.mp4"), vcodec=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p")),
            READY,
        ),
        Case(
            "variable frame rate",
            video(
                f("vfr.mkv"),
                rate="30",
                seconds=2,
                extra=("-vf", "select='not(mod(n\\,3))+lt(n\\,10)'", "-fps_mode", "vfr"),
            ),
            READY,
        ),
        Case("120 fps", video(f("120fps.mp4"), rate="120"), READY),
        Case("1 fps", video(f("1fps.mp4"), rate="1", seconds=3), READY),
        Case("NTSC 30000/1001 fps", video(f("ntsc.mp4"), rate="30000/1001"), READY),
        Case("a single frame", video(f("one-frame.mp4"), audio=False, extra=("-frames:v", "1")), READY),
        Case("0.1 s", video(f("tenth.mp4"), seconds=0.1), READY),
        Case("non-square pixels (SAR 2:1)", video(f("anamorphic.mp4"), extra=("-vf", "setsar=2/1")), READY),
        Case(
            "interlaced flag",
            video(
                f("interlaced.mp4"),
                vcodec=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-flags", "+ilme+ildct"),
            ),
            READY,
        ),
        Case(
            "MPEG-4 Part 2 in AVI",
            video(f("mpeg4.avi"), vcodec=("-c:v", "mpeg4"), acodec=("-c:a", "libmp3lame")),
            READY,
        ),
        Case("MJPEG in AVI", video(f("mjpeg.avi"), vcodec=("-c:v", "mjpeg"), acodec=("-c:a", "pcm_s16le")), READY),
        Case("MPEG-2 in MPEG-TS", video(f("mpeg2.ts"), vcodec=("-c:v", "mpeg2video"), acodec=("-c:a", "mp2")), READY),
        Case("MPEG-1 in MPEG-PS", video(f("mpeg1.mpg"), vcodec=("-c:v", "mpeg1video"), acodec=("-c:a", "mp2")), READY),
        Case("H.264 in FLV", video(f("h264.flv"), extra=("-f", "flv")), READY),
        Case("H.264 in MOV", video(f("h264.mov")), READY),
        Case("H.264 in Matroska", video(f("h264.mkv")), READY),
        Case("WMV2 in ASF", video(f("wmv.wmv"), vcodec=("-c:v", "wmv2"), acodec=("-c:a", "wmav2")), READY),
        Case("mono 8 kHz audio", video(f("mono8k.mp4"), extra=("-ac", "1", "-ar", "8000")), READY),
        Case("5.1 audio", video(f("surround.mp4"), extra=("-ac", "6")), READY),
        Case("audio longer than the video", _long_audio(f("long-audio.mkv")), READY),
        Case("two video streams", _two_videos(f("two-videos.mkv")), READY),
        Case("with a subtitle stream", _with_subtitles(folder, f("subtitled.mkv")), READY),
        Case("3 h claimed in a broken header", claim_duration(base, f("claims-3h.mp4"), 3 * 3600), READY),
        Case("moov at the end (not faststart)", moov_last, READY),
        # damaged: either outcome, with a reason, in bounded time
        Case("truncated at 60%", with_bytes(f("cut60.mp4"), base_data[: len(base_data) * 6 // 10]), SETTLES),
        Case("truncated at 95%", with_bytes(f("cut95.mp4"), base_data[: len(base_data) * 95 // 100]), SETTLES),
        Case("frames garbled", garble(base, f("garbled.mp4"), 0.2, 1.0), SETTLES),
        Case("middle third garbled", garble(base, f("garbled-middle.mp4"), 0.4, 0.7), SETTLES),
        Case("video 5.5 h after its audio (FFmpeg stalls)", _timestamp_gap(folder, f("gap.mkv")), FAILED),
        Case("MPEG-TS cut mid-packet", with_bytes(f("cut.ts"), (folder / "mpeg2.ts").read_bytes()[:20_000]), SETTLES),
    ]
    return cases


def _long_audio(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i",
           "sine=frequency=330:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(path))  # fmt: skip
    return path


def _two_videos(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i",
           "smptebars=size=160x120:rate=25:duration=1", "-map", "0:v", "-map", "1:v", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return path


def _with_subtitles(folder: Path, path: Path) -> Path:
    srt = folder / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,900\nHello\n")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-i", str(srt), "-map", "0:v",
           "-map", "1:s", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s", "srt",
           str(path))  # fmt: skip
    return path


def _timestamp_gap(folder: Path, path: Path) -> Path:
    """100 KB whose video starts 20 000 s after its audio: FFmpeg churns through the gap making no progress,
    which only the stall timeout ends (the corpus's "file that makes FFmpeg hang")."""
    both, late = folder / "gap-both.mkv", folder / "gap-video.mkv"
    video(both, size="320x240")
    ffmpeg("-i", str(both), "-map", "0:v", "-c", "copy", "-output_ts_offset", "20000", str(late))
    ffmpeg("-i", str(late), "-i", str(both), "-map", "0:v", "-map", "1:a", "-c", "copy", "-copyts", str(path))
    return path
