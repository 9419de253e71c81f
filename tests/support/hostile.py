"""A corpus of hostile and odd media files, made in the test with the real FFmpeg (and by hand for the
broken ones). Each case says what must become of it:

- `rejected`: the upload is refused with a 4xx (not a video container, no video stream, ...);
- `ready`: a playable result is possible, so the video must end ready;
- `failed`: nothing playable can come of it: it must end `failed` with a reason (here: FFmpeg stalls);
- `settles`: damaged input where any outcome is right as long as it is clear: refused with a 4xx, or ending
  `ready`, or `failed` with a reason.
"""

from __future__ import annotations

import os
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


# -- files that make an FFmpeg left to guess its demuxer read another file, or the network ----------------
#: the marker's length: a video that lasted this long would show that the marker was read
MARKER_SECONDS = 7.3


def marker_video(path: Path) -> Path:
    """Stands for another video's source: nothing made from an upload may ever read it."""
    return video(path, seconds=MARKER_SECONDS, audio=False)


def never_read(path: Path) -> None:
    """Set the file's access time to 1970: on a relatime (or strictatime) filesystem, any read moves it (the
    tests show it does, on the same filesystem, before they rely on it)."""
    os.utime(path, ns=(0, path.stat().st_mtime_ns))


def was_read(path: Path) -> bool:
    return path.stat().st_atime_ns != 0


def box(kind: bytes, payload: bytes) -> bytes:
    """An ISO-BMFF box (MP4/MOV atom)."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def dash_manifest(target: Path) -> bytes:
    """A DASH manifest whose only representation is `target`, behind `<!--wide-->`: bytes 4-7 read `wide`,
    a MOV atom, so it passes the container sniffing; FFmpeg left to guess reads it as DASH and opens
    `target`."""
    return (
        "<!--wide-->\n"
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT7.3S" '
        'minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>'
        '<AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="100000" width="320" height="240" '
        f'codecs="avc1.64000d"><BaseURL>{target.resolve().as_uri()}</BaseURL></Representation></AdaptationSet>'
        "</Period></MPD>\n"
    ).encode()


def sdp_as_mpegts(port: int = 5004) -> bytes:
    """A session description with MPEG-TS sync bytes (`G`) at 0, 188 and 376: it passes the sniffing as
    MPEG-TS; FFmpeg left to guess reads it as SDP and opens RTP sockets."""
    lines = f"\nv=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video {port} RTP/AVP 96\n"
    data = bytearray(b"G" + lines.encode() + b"\n" * 400)
    data[188] = data[376] = 0x47
    return bytes(data)


def hls_playlist(target: Path) -> bytes:
    uri = target.resolve().as_uri()
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXTINF:{MARKER_SECONDS},\n{uri}\n#EXT-X-ENDLIST\n".encode()


def confinement_corpus(folder: Path, target: Path) -> list[Case]:
    """Manifests, playlists and scripts that name `target`, dressed as video (the sniffing's signatures) or
    not: each must be refused at upload (or fail in the worker), and no FFmpeg may open `target`."""
    folder.mkdir(parents=True, exist_ok=True)
    f = folder.joinpath
    return [
        Case("DASH manifest behind a 'wide' atom", with_bytes(f("dash.mp4"), dash_manifest(target)), REJECTED),
        Case("SDP dressed as MPEG-TS", with_bytes(f("session.ts"), sdp_as_mpegts()), REJECTED),
        Case("HLS playlist", with_bytes(f("playlist.mp4"), hls_playlist(target)), REJECTED),
        Case(
            "ffconcat script",
            with_bytes(f("script.mp4"), f"ffconcat version 1.0\nfile '{target.resolve()}'\n".encode()),
            REJECTED,
        ),
        Case("HLS playlist in an MP4 mdat", with_bytes(f("mdat.mp4"), box(b"mdat", hls_playlist(target))), REJECTED),
    ]


# -- files whose headers claim more than any real film: refused by the media limits ---------------------
def claim_hours(source_mkv: Path, path: Path, hours: float) -> Path:
    """A Matroska file whose Segment Info Duration (an 8-byte float in milliseconds, as FFmpeg writes it)
    claims `hours`."""
    data = bytearray(source_mkv.read_bytes())
    at = data.find(b"\x44\x89\x88")
    assert at > 0, "no 8-byte Duration element"
    data[at + 3 : at + 11] = struct.pack(">d", hours * 3600 * 1000)
    path.write_bytes(bytes(data))
    return path


def claim_avi_size(source_avi: Path, path: Path, width: int, height: int) -> Path:
    """An AVI whose main header and stream format (BITMAPINFOHEADER) claim `width` x `height`."""
    data = bytearray(source_avi.read_bytes())
    main = data.find(b"avih") + 8 + 32  # dwWidth, dwHeight after eight 32-bit fields
    data[main : main + 8] = struct.pack("<II", width, height)
    fmt = data.find(b"strf") + 8 + 4  # biWidth, biHeight after biSize
    data[fmt : fmt + 8] = struct.pack("<ii", width, height)
    path.write_bytes(bytes(data))
    return path


def claim_mkv_width(source_mkv: Path, path: Path, width: int) -> Path:
    """A Matroska file whose track header claims a picture `width` pixels wide (a 2-byte PixelWidth of a
    320 px source; FFV1 takes the size from the container)."""
    data = bytearray(source_mkv.read_bytes())
    at = data.find(b"\xb0\x82\x01\x40")
    assert at > 0, "no 2-byte PixelWidth of 320"
    data[at + 2 : at + 4] = struct.pack(">H", width)
    path.write_bytes(bytes(data))
    return path


def beyond_limits(folder: Path) -> list[Case]:
    """Files claiming more than the default media limits (or than FFmpeg can hold): refused at upload."""
    folder.mkdir(parents=True, exist_ok=True)
    f = folder.joinpath
    mkv = video(f("limits.mkv"), audio=False)
    ffv1_mkv = video(f("ffv1.mkv"), audio=False, vcodec=("-c:v", "ffv1"))
    ffv1_avi = video(f("ffv1.avi"), audio=False, vcodec=("-c:v", "ffv1"))
    many = f("many-streams.mkv")
    ffmpeg("-i", str(mkv), *("-map", "0:v") * 70, "-c", "copy", str(many))
    return [
        Case("a million hours claimed (MKV)", claim_hours(mkv, f("hours.mkv"), 1_000_000), REJECTED),
        Case("99999x99999 claimed (AVI)", claim_avi_size(ffv1_avi, f("huge.avi"), 99999, 99999), REJECTED),
        Case("16000 px wide (MKV)", claim_mkv_width(ffv1_mkv, f("wide.mkv"), 16000), REJECTED),
        Case("1000 fps", video(f("1000fps.mkv"), rate="1000", seconds=0.05, audio=False), REJECTED),
        Case("70 streams", many, REJECTED),
    ]
