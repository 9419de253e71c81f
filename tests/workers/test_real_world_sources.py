"""Real-world sources (issue 20), made with FFmpeg and put through the workers' real commands:

- phone videos: a clip stored landscape with a display-matrix rotation comes out upright, in portrait
  renditions planned on its short side (a 720x1280 phone video is "720p" at 720x1280, never squeezed to 720
  lines of height), with an upright thumbnail and storyboard, in the single pass and in a part (the upright
  picture is white above and black below, so a pixel says which way up a frame is);
- interlaced sources are deinterlaced (idet), progressive ones left alone;
- non-square pixels keep their displayed aspect in every output;
- variable frame rate becomes constant, as long as the source, in sync with the sound."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import subprocess
from pathlib import Path

import pytest

from stream_workers import (
    audio_tracks,
    ffmpeg_run,
    film_parts,
    hls,
    hls_output,
    interlacing,
    part_playlists,
    sheets,
)
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, probe
from videoflix.core.storyboard import layout_for

from ..support import made
from ..support.clips import (
    ffmpeg,
    heard,
    phone_like,
    picture_and_sound_step,
    stream_ends,
    stream_starts,
    video_timestamps,
)


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory) -> Path:
    """720x1280 upright (white top, black bottom), stored transposed to 1280x720 with a 90° rotation tag, as
    phones write it."""
    folder = tmp_path_factory.mktemp("phone")
    upright = "color=c=white:s=720x640:r=25:d=2[top];color=c=black:s=720x640:r=25:d=2[bottom];[top][bottom]vstack"
    stored = folder / "stored.mp4"
    ffmpeg("-filter_complex", f"{upright},transpose=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
           "yuv420p", str(stored))  # fmt: skip
    tagged = folder / "phone.mp4"
    ffmpeg("-display_rotation:v:0", "90", "-i", str(stored), "-c", "copy", str(tagged))
    return tagged


def frame(path: Path) -> tuple[int, int, bytes]:
    """(width, height, gray pixels) of the first frame of a segment or image."""
    size = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-frames:v", "1", "-f", "null", "-"],
                          capture_output=True, text=True).stderr  # fmt: skip
    width, height = map(int, re.findall(r"Stream #0:\d.*?: Video: .*?, (\d+)x(\d+)", size)[-1])
    data = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return width, height, data


def upright(width: int, height: int, data: bytes) -> bool:
    """White above, black below (looked at a quarter and three quarters down the middle column)."""
    top, bottom = data[(height // 4) * width + width // 2], data[(3 * height // 4) * width + width // 2]
    return top > 200 and bottom < 50


def test_the_probe_sees_the_displayed_portrait_picture(phone_clip):
    info = probe(phone_clip)
    assert (info.width, info.height, info.rotation, info.portrait, info.short_side) == (720, 1280, 90, True, 720)
    assert [r.name for r in ladder_for(info.short_side)] == ["480p", "720p"]
    assert info.rendition_size(480) == (480, 854)


def test_the_single_pass_makes_upright_portrait_renditions_thumbnail_and_storyboard(phone_clip, tmp_path):
    info = probe(phone_clip)
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    plan = sheets.make_frames_folder(out, layout_for(info.width, info.height, info.duration))
    asyncio.run(
        ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs, storyboard=plan).single_pass(ffmpeg_exe(), phone_clip, out))
    )
    sheets.tile(ffmpeg_exe(), out, plan, final=True)
    hls_output.check_output(out, rungs)

    assert [(r["name"], r["width"], r["height"]) for r in hls_output.master_renditions(out, rungs)] == [
        ("480p", 480, 854), ("720p", 720, 1280),
    ]  # fmt: skip
    for rung, size in (("480p", (480, 854)), ("720p", (720, 1280))):
        width, height, data = frame(out / rung / "000.ts")
        assert (width, height) == size and upright(width, height, data), rung
    thumbnail = frame(out / "thumbnail.jpg")
    assert thumbnail[1] > thumbnail[0] and upright(*thumbnail)
    assert (plan.width, plan.height) == (160, 284)
    sheet = frame(out / "storyboard" / "0.jpg")
    assert upright(160, 284, bytes(sheet[2][y * sheet[0] + x] for y in range(284) for x in range(160)))


def test_a_part_of_a_phone_video_is_upright_and_portrait(phone_clip, tmp_path):
    info = probe(phone_clip)
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    (out / part_playlists.PARTS).mkdir(parents=True)
    part = film_parts.Part(0, 0.0, 2.0)
    asyncio.run(
        ffmpeg_run.run_ffmpeg(
            FilmSteps(info, rungs, H264.at("ultrafast")).picture_part(ffmpeg_exe(), phone_clip, out, part)
        )
    )
    width, height, data = frame(out / part_playlists.PARTS / "720p" / "000.ts")
    assert (width, height) == (720, 1280) and upright(width, height, data)
    assert part_playlists.nominal_renditions(info, rungs)[0] | {"average": 0, "bandwidth": 0} == {
        "name": "480p", "width": 480, "height": 854, "average": 0, "bandwidth": 0,
    }  # fmt: skip


def test_a_landscape_source_is_planned_as_before():
    info = MediaInfo(10.0, 1920, 1080, 30.0, "h264", True, container="mp4")
    assert not info.portrait and info.short_side == 1080 and info.rendition_size(720) == (1280, 720)
    assert "scale=-2:720" in hls.ladder_graph(info, ladder_for(1080))


@pytest.fixture(scope="module")
def interlaced_clip(tmp_path_factory) -> Path:
    """480 lines interlaced, top field first (as from a DV camera or broadcast), moving picture."""
    path = tmp_path_factory.mktemp("interlaced") / "tff.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x480:rate=60:duration=2", "-vf", "interlace=scan=tff",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-flags", "+ilme+ildct",
           "-x264opts", "tff=1", "-field_order", "tt", str(path))  # fmt: skip
    return path


def combed_frames(path: Path) -> tuple[int, int]:
    """(interlaced, progressive) frames as FFmpeg's `idet` counts them over several frames."""
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-vf", "idet", "-f", "null", "-"],
                          capture_output=True, text=True).stderr  # fmt: skip
    counts = r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)"
    tff, bff, progressive = map(int, re.findall(counts, said)[-1])
    return tff + bff, progressive


def test_an_interlaced_source_is_deinterlaced_and_a_progressive_one_left_alone(interlaced_clip, tmp_path):
    info = probe(interlaced_clip)
    assert info.interlaced and combed_frames(interlaced_clip)[0] > 50
    rungs = ladder_for(info.short_side)
    seen = {}
    for name, facts in (("deinterlaced", info), ("as before", dataclasses.replace(info, interlaced=False))):
        out = tmp_path / name
        out.mkdir()
        asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs).single_pass(ffmpeg_exe(), interlaced_clip, out)))
        seen[name] = combed_frames(out / "480p" / "index.m3u8")  # 480 lines, as many as the source's
    # idet takes a few compressed frames for combed (4 of 60 measured); scaled without bwdif, every one is
    assert seen["deinterlaced"][0] <= 6 and seen["deinterlaced"][1] >= 54, seen
    assert seen["as before"][0] >= 54, seen

    plain = MediaInfo(10.0, 720, 480, 30.0, "h264", True, container="mp4")
    assert not plain.interlaced and "bwdif" not in hls.ladder_graph(plain, ladder_for(480))


def test_an_interlaced_source_that_does_not_say_so_is_found_and_deinterlaced(tmp_path):
    """Fields woven into frames but stored as progressive (a capture re-encoded without its flags): nothing
    in the stream tells, idet's sample does; every frame is then deinterlaced with the order found. A
    progressive source of the same sharp synthetic picture, which idet partly takes for either order, is
    left alone."""
    woven = tmp_path / "woven.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x480:rate=60:duration=3", "-vf", "interlace=scan=bff,setfield=prog",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(woven))  # fmt: skip
    progressive = tmp_path / "progressive.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x480:rate=30:duration=3", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(progressive))  # fmt: skip
    info = probe(woven)
    assert not info.interlaced and combed_frames(woven)[0] > 60  # untagged, combed
    found = interlacing.detect(ffmpeg_exe(), woven, info)
    assert found.field_order == "bff" and "parity=bff:deint=all" in hls.ladder_graph(found, ladder_for(480))
    assert interlacing.detect(ffmpeg_exe(), progressive, probe(progressive)).field_order is None
    tagged = probe(progressive)
    assert (
        interlacing.detect(ffmpeg_exe(), progressive, dataclasses.replace(tagged, interlaced=True)).field_order is None
    )

    out = tmp_path / "out"
    out.mkdir()
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(found, ladder_for(480)).single_pass(ffmpeg_exe(), woven, out)))
    combed, whole = combed_frames(out / "480p" / "index.m3u8")
    assert combed <= 9 and whole >= 81, (combed, whole)  # of 90 frames (without: nearly all combed, above)


def test_non_square_pixels_keep_the_displayed_aspect_in_every_output(tmp_path):
    """PAL DV: 720x576 stored, SAR 16:15, shown 768x576. Browsers show a JPEG as stored, so the thumbnail
    and the storyboard would be squeezed; every output is resampled to square pixels instead."""
    source = tmp_path / "pal.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=1", "-vf", "setsar=16/15", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    info = probe(source)
    assert (info.width, info.height, info.anamorphic) == (768, 576, True)
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    plan = sheets.make_frames_folder(out, layout_for(info.width, info.height, info.duration))
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs, storyboard=plan).single_pass(ffmpeg_exe(), source, out)))
    sheets.tile(ffmpeg_exe(), out, plan, final=True)
    assert [(r["width"], r["height"]) for r in hls_output.master_renditions(out, rungs)] == [(640, 480)]
    for path, size in ((out / "480p" / "000.ts", "640x480"), (out / "thumbnail.jpg", "480x360")):
        said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
        assert f"{size} [SAR 1:1" in said or (f"{size}," in said and "SAR" not in said), said
    assert (plan.width, plan.height) == (160, 120)


def test_a_variable_frame_rate_source_becomes_constant_as_long_and_in_sync(tmp_path):
    """3 s at 24 fps then 3 s at 60 fps, written with their own timestamps (as screen recorders and phones do),
    with a tone: the rendition runs at one rate, every frame 1/60 s after the last, as long as the source,
    and its sound ends with its picture (within a frame)."""
    source = tmp_path / "vfr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=3", "-f", "lavfi", "-i",
           "testsrc2=size=320x240:rate=60:duration=3", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
           "-filter_complex", "[0][1]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "2", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(source))  # fmt: skip
    info = probe(source)
    assert info.cfr_rate == 60.0 and info.fps != 60.0
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs).single_pass(ffmpeg_exe(), source, out)))
    playlist = out / rungs[0].name / "index.m3u8"
    frames = video_timestamps(playlist)
    assert len(frames) == pytest.approx(6 * 60, abs=1)  # as long as the source
    assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # one rate, no gap, no repeat of a timestamp
    picture, sound = stream_ends(playlist)
    assert abs(picture - sound) <= 1 / 60 + 0.025, (picture, sound)  # in sync at the end (an AAC frame's slack)

    constant = MediaInfo(6.0, 320, 240, 25.0, "h264", True, container="mp4")
    assert constant.cfr_rate is None and "fps=" not in hls.ladder_graph(constant, ladder_for(240))


def test_a_phones_picture_made_constant_stays_within_a_frame_of_its_sound_in_one_pass_and_in_parts(tmp_path):
    """A phone-like clip (30 fps then 20, jittered and dropped pictures, its picture 37 ms after its sound)
    whose dim picture turns white as a tone starts, after the rate changed: in the single pass and in 4 s
    parts, the first white picture and the tone's onset keep the source's distance within a frame (and an
    AAC frame's slack), and the white picture lands where it was in the film."""
    source = phone_like(tmp_path / "phone.mp4", seconds=10.0, step_at=7.3)
    picture, sound = picture_and_sound_step(source)
    info = probe(source)
    rungs = ladder_for(info.short_side)
    single = made.in_one_pass(source, info, rungs, tmp_path / "single")
    parted = made.in_parts(source, info, rungs, tmp_path / "parts", part_seconds=4, preset="ultrafast")

    for out in (single, parted):
        playlist = out / rungs[0].name / "index.m3u8"
        shown, heard = picture_and_sound_step(playlist)
        assert abs((shown - heard) - (picture - sound)) <= 1 / 30 + 0.025, (out.name, shown, heard, picture, sound)
        first = stream_starts(out / rungs[0].name / "000.ts")["video"]  # its first picture: the film's 0
        assert shown - first == pytest.approx(picture, abs=1 / 30 + 0.001), (out.name, shown, first, picture)


def test_the_renditions_carry_the_sources_default_audio_track_in_stereo(tmp_path):
    """Three tagged audio tracks, the second marked default (as a German release of an English film):
    the renditions' muxed sound, which the existing frontend plays, is that one, even when it is not the
    first; its 5.1 is downmixed to stereo AAC. English is silence here and German a tone, so what is heard
    says which track was taken."""
    source = tmp_path / "tracks.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3",
           "-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=3,aformat=channel_layouts=5.1",
           "-f", "lavfi", "-i", "sine=frequency=880:duration=3",
           "-map", "0", "-map", "1", "-map", "2", "-map", "3", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=ger",
           "-metadata:s:a:2", "language=fre", "-disposition:a:0", "0", "-disposition:a:1", "default",
           "-disposition:a:2", "0", str(source))  # fmt: skip
    info = probe(source)
    assert [(a.language, a.channels, a.default) for a in info.audio_streams] == [
        ("eng", "stereo", False), ("ger", "5.1", True), ("fre", "mono", False),
    ]  # fmt: skip
    assert info.default_audio == 1
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    audio_tracks.make_folders(out, info)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs).single_pass(ffmpeg_exe(), source, out)))
    playlist = out / rungs[0].name / "index.m3u8"
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(playlist)], capture_output=True, text=True).stderr
    assert re.search(r"Audio: aac.*, 48000 Hz, stereo", said), said
    assert heard(playlist).integrated > -40  # the German tone, not the English silence
    # the other two are the alternate renditions, stereo too, the French tone where it belongs
    assert audio_tracks.folders(info) == ["audio/0", "audio/2"]
    hls_output.check_output(out, rungs, audio_tracks.folders(info))
    assert heard(out / "audio" / "0" / "index.m3u8").integrated < -60  # silence
    assert heard(out / "audio" / "2" / "index.m3u8").integrated > -40
    assert "stereo" in subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out / "audio/2/000.ts")],
                                      capture_output=True, text=True).stderr  # fmt: skip


@pytest.mark.parametrize(
    ("size", "audio", "made"),
    [("176x144", True, (176, 144)), ("321x241", True, (320, 240)), ("640x360", False, (640, 360))],
    ids=["QCIF", "odd size", "no sound"],
)
def test_tiny_odd_and_silent_sources_get_a_playable_rendition(tmp_path, size, audio, made):
    """A QCIF source gets the lowest rung at its own size (never upscaled), an odd-sized one even dimensions
    (H.264 in 4:2:0 needs them), and one without sound renditions without an audio stream, consistently in
    the master's CODECS (hls.js plays video-only TS)."""
    source = tmp_path / "source.mp4"
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=2"]
    if audio:
        inputs += ["-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac"]
    ffmpeg(*inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(source))
    info = probe(source)
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs).single_pass(ffmpeg_exe(), source, out)))
    hls_output.check_output(out, rungs)
    [rendition] = hls_output.master_renditions(out, rungs)
    assert (rendition["name"], rendition["width"], rendition["height"]) == ("480p", *made)
    master = (out / "master.m3u8").read_text()
    assert ("mp4a" in master) == audio
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out / "480p" / "000.ts")],
                          capture_output=True, text=True).stderr  # fmt: skip
    assert ("Audio:" in said) == audio and f"{made[0]}x{made[1]}" in said


def picture_stats(path: Path) -> tuple[float, float]:
    """(mean luma, mean saturation) over every frame, 8-bit scale (FFmpeg's signalstats)."""
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-vf",
                           "format=yuv420p,signalstats,metadata=print:file=-", "-f", "null", "-"],
                          capture_output=True, text=True).stdout  # fmt: skip
    luma = [float(v) for v in re.findall(r"signalstats\.YAVG=([\d.]+)", said)]
    saturation = [float(v) for v in re.findall(r"signalstats\.SATAVG=([\d.]+)", said)]
    return sum(luma) / len(luma), sum(saturation) / len(saturation)


@pytest.fixture(scope="module")
def hdr_sources(tmp_path_factory) -> dict[str, Path]:
    """One generated scene as SDR (the reference) and as 10-bit HEVC in BT.2020 with PQ (HDR10) and with HLG,
    tagged as cameras and grading tools tag them."""
    folder = tmp_path_factory.mktemp("hdr")
    sdr = folder / "sdr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p", str(sdr))  # fmt: skip
    sources = {"sdr": sdr}
    for name, transfer in (("pq", "smpte2084"), ("hlg", "arib-std-b67")):
        sources[name] = folder / f"{name}.mp4"
        ffmpeg("-i", str(sdr), "-vf", "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,"
               f"zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt2020:t={transfer}:m=bt2020nc:r=tv,"
               "format=yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
               f"colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc:log-level=error",
               str(sources[name]))  # fmt: skip
    return sources


@pytest.mark.parametrize("kind", ["pq", "hlg"])
def test_hdr_is_tone_mapped_to_sdr_that_looks_like_the_scene(hdr_sources, tmp_path, kind):
    """Looks right, measured: the rendition's mean luma within 10 % and mean saturation within 25 % of the
    SDR reference of the same scene (the BT.2020 round trip and HEVC cost a little colour); left as it was,
    the PQ or HLG signal shown as SDR is washed out (saturation a fifth of the reference's). Tagged BT.709."""
    info = probe(hdr_sources[kind])
    assert info.hdr == kind
    reference_luma, reference_saturation = picture_stats(hdr_sources["sdr"])
    rungs = ladder_for(info.short_side)
    seen = {}
    for name, facts in (("tone-mapped", info), ("as before", dataclasses.replace(info, hdr=None))):
        out = tmp_path / name
        out.mkdir()
        asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs).single_pass(ffmpeg_exe(), hdr_sources[kind], out)))
        seen[name] = picture_stats(out / rungs[0].name / "000.ts")
    luma, saturation = seen["tone-mapped"]
    assert abs(luma - reference_luma) <= 0.10 * reference_luma, (seen, reference_luma)
    assert abs(saturation - reference_saturation) <= 0.25 * reference_saturation, (seen, reference_saturation)
    assert seen["as before"][1] < 0.5 * reference_saturation, seen  # what the test would see without the fix
    segment = tmp_path / "tone-mapped" / rungs[0].name / "000.ts"
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(segment)], capture_output=True, text=True).stderr
    assert re.search(r"yuv420p\(tv, bt709", said), said  # 8-bit, BT.709
