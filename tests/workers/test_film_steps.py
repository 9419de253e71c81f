"""A film's steps are described once (stream_workers/film_steps.py): what the single pass makes of a film, its
parts and its sound job make together, from the same pieces, and a further ladder's parts are that ladder's
renditions over the same ranges. A step wired into one run alone fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stream_workers import av1_ladder, film_parts
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.media import AudioStream, MediaInfo, SubtitleStream, ladder_for
from videoflix.core.storyboard import layout_for

OUT = Path("/out")


def film() -> MediaInfo:
    """A film with everything a step makes something of: sound, a second track, text and picture subtitles."""
    sounds = (AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "stereo"))
    subtitles = (SubtitleStream(0, "eng", "subrip"), SubtitleStream(1, "fre", "hdmv_pgs_subtitle"))
    return MediaInfo(130.0, 1920, 1080, 30.0, "h264", True, container="mp4", audio_streams=sounds,
                     subtitles=subtitles, interlaced=True)  # fmt: skip


def made(argv: list[str]) -> set[str]:
    """What a command makes, by kind: each rendition (by its name), the default sound (muxed in or on its
    own), the thumbnail, the storyboard's frames, each other audio track, each subtitle track."""
    products = set()
    for i, arg in enumerate(argv):
        if arg == "-var_stream_map":
            for stream in argv[i + 1].split():
                name = stream.split("name:")[1]
                products.add("sound" if name == film_parts.AUDIO else f"rendition {name}")
                products |= {"sound"} if ",a:" in stream else set()
        elif arg.startswith(str(OUT)) and argv[i - 1] not in ("-hls_segment_filename", "-i"):
            path = arg.removeprefix(f"{OUT}/")
            if path == "thumbnail.jpg":
                products.add("thumbnail")
            elif path.startswith("storyboard/frames-"):
                products.add("storyboard")
            elif found := re.fullmatch(r"audio/(\d+)/index\.m3u8", path):
                products.add(f"audio track {found[1]}")
            elif found := re.fullmatch(r"subtitles/(\d+)\.vtt", path):
                products.add(f"subtitles {found[1]}")
    return products


@pytest.fixture
def steps() -> FilmSteps:
    info = film()
    storyboard = layout_for(info.width, info.height, info.duration, 60)
    return FilmSteps(info, ladder_for(1080), H264.at("veryfast"), 18.0, storyboard=storyboard,
                     audio_filters={0: "loudnorm", 1: "volume=2"}, subtitles=OUT / "subtitles")  # fmt: skip


def test_a_film_made_in_parts_gets_every_step_the_single_pass_makes(steps):
    single = made(steps.single_pass("ffmpeg", Path("/source.mp4"), OUT))
    assert single == {
        "rendition 480p", "rendition 720p", "rendition 1080p", "sound", "thumbnail", "storyboard",
        "audio track 1", "subtitles 0",
    }  # fmt: skip
    parts = film_parts.cut_film(130.0, 60)
    in_parts = set().union(*(made(steps.picture_part("ffmpeg", Path("/source.mp4"), OUT, c)) for c in parts))
    assert in_parts | made(steps.sound_job("ffmpeg", Path("/source.mp4"), OUT)) == single
    # the picture's steps in every part, the thumbnail once, the streams' steps once
    for part in parts:
        made_here = made(steps.picture_part("ffmpeg", Path("/source.mp4"), OUT, part))
        assert made_here == {"rendition 480p", "rendition 720p", "rendition 1080p", "storyboard"} | (
            {"thumbnail"} if part.index == 0 else set()
        )


def test_every_run_scales_and_prepares_the_picture_alike(steps):
    """One graph for the picture (deinterlaced here, then split and scaled per rung) in the single pass, each
    part of every ladder and a further ladder's pass: the renditions of every ladder are the same pictures."""
    source, part = Path("/source.mp4"), film_parts.cut_film(130.0, 60)[1]
    av1 = FilmSteps(steps.info, steps.rungs, av1_ladder.LADDER)
    graphs = [
        argv[argv.index("-filter_complex") + 1]
        for argv in (
            steps.single_pass("ffmpeg", source, OUT), steps.picture_part("ffmpeg", source, OUT, part),
            av1.ladder_pass("ffmpeg", source, OUT), av1.picture_part("ffmpeg", source, OUT, part),
        )
    ]  # fmt: skip
    pattern = r"^\[0:v\]bwdif[^;]*split=\d+\[s0\]\[s1\]\[s2\](?:\[st\])?(?:\[ss\])?;(.*?scale=-2:1080[^;]*)"
    scaled = [re.search(pattern, graph) for graph in graphs]
    assert None not in scaled and len({match[1] for match in scaled}) == 1, graphs


def test_a_further_ladders_part_is_its_renditions_over_the_parts_range(steps):
    source, part = Path("/source.mp4"), film_parts.cut_film(130.0, 60)[1]
    h264 = steps.picture_part("ffmpeg", source, OUT, part)
    av1 = FilmSteps(steps.info, steps.rungs, av1_ladder.LADDER).picture_part("ffmpeg", source, OUT, part)
    assert av1[: av1.index("-filter_complex")] == h264[: h264.index("-filter_complex")]  # the same range, read alike
    assert [av1[i + 1] for i, arg in enumerate(av1) if arg == "-c:v"] == ["libsvtav1"] * 3
    files = [arg for arg in av1 if arg.endswith(".nut")]
    assert files == [f"{OUT}/parts/av1/{rung}/part-0001.nut" for rung in ("480p", "720p", "1080p")]
    assert "thumbnail" not in made(av1) and "storyboard" not in made(av1)  # the first ladder's parts make those
