"""Seek-bar previews (issue 19): the single pass's FFmpeg run makes sprite sheets beside the renditions, and
the API serves them and a WebVTT thumbnails track whose cues point at the right tile. The source here shows
one colour every 2 s, so each tile's colour says which moment it shows."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from stream_workers import ffmpeg_run, hls_output, sheets
from stream_workers.film_steps import FilmSteps
from videoflix.core import storyboard
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support.clips import ffmpeg

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
#: 2 x 2 tiles a sheet, so six previews take two sheets
PLAN = storyboard.Layout(interval=2, width=160, height=90, columns=2, rows=2)
OUTPUT = "videos/storyboarded/hls-1"


@pytest.fixture(scope="session")
def storyboarded(app_settings, tmp_path_factory) -> str:
    """A 12 s film, one colour every 2 s, transcoded by the single pass with a storyboard."""
    folder = tmp_path_factory.mktemp("storyboard")
    parts = "".join(f"color=c=0x{r:02x}{g:02x}{b:02x}:s=320x180:r=25:d=2[c{i}];" for i, (r, g, b) in enumerate(COLOURS))
    joined = "".join(f"[c{i}]" for i in range(len(COLOURS)))
    source = folder / "colours.mp4"
    ffmpeg("-filter_complex", f"{parts}{joined}concat=n={len(COLOURS)}:v=1:a=0", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    out = Path(app_settings["videoflix.media_root"]) / OUTPUT
    out.mkdir(parents=True)
    facts = probe(source)
    rungs = ladder_for(facts.short_side)
    plan = sheets.make_frames_folder(out, PLAN)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs, storyboard=plan).single_pass(ffmpeg_exe(), source, out)))
    sheets.tile(ffmpeg_exe(), out, plan, final=True)
    hls_output.check_output(out, rungs)
    return OUTPUT


def rgb(jpeg: bytes, width: int, height: int) -> bytes:
    return subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        input=jpeg, capture_output=True, check=True,
    ).stdout  # fmt: skip


def test_the_track_points_each_moment_at_a_tile_showing_it(viewer, add_video, storyboarded):
    film = add_video(hls_path=storyboarded, duration=12.0)
    track = viewer.get(f"/api/video/{film}/storyboard.vtt", status=200)
    assert track.content_type == "text/vtt" and track.text.startswith("WEBVTT\n\n")
    cues = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)", track.text)
    assert [(a, b) for a, b, _ in cues] == [(f"00:00:{2 * i:02d}.000", f"00:00:{2 * i + 2:02d}.000") for i in range(6)]
    assert [target for _, _, target in cues] == [
        "storyboard/0.jpg#xywh=0,0,160,90", "storyboard/0.jpg#xywh=160,0,160,90",
        "storyboard/0.jpg#xywh=0,90,160,90", "storyboard/0.jpg#xywh=160,90,160,90",
        "storyboard/1.jpg#xywh=0,0,160,90", "storyboard/1.jpg#xywh=160,0,160,90",
    ]  # fmt: skip

    sheets = {}
    for (_, _, target), colour in zip(cues, COLOURS, strict=True):
        name, x, y, w, h = re.fullmatch(r"storyboard/(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", target).groups()
        if name not in sheets:
            sheet = viewer.get(f"/api/video/{film}/storyboard/{name}.jpg", status=200)
            assert sheet.content_type == "image/jpeg"
            sheets[name] = rgb(sheet.body, 320, 180)
        at = ((int(y) + int(h) // 2) * 320 + int(x) + int(w) // 2) * 3  # the tile's centre
        pixel = sheets[name][at : at + 3]
        assert all(abs(p - c) < 40 for p, c in zip(pixel, colour, strict=True)), (target, tuple(pixel), colour)


def test_a_growing_films_track_lists_the_sheets_made_so_far(viewer, add_video, storyboarded, media_root):
    film = add_video(hls_path=storyboarded, duration=12.0)
    own = media_root / "videos" / str(film) / Path(storyboarded).name  # (add_video's link of the output)
    second = own / "storyboard" / "1.jpg"
    kept = second.read_bytes()
    second.unlink()  # as while the second sheet is still being made
    try:
        text = viewer.get(f"/api/video/{film}/storyboard.vtt", status=200).text
        assert text.count("storyboard/0.jpg") == 4 and "storyboard/1.jpg" not in text
    finally:
        second.write_bytes(kept)
    assert viewer.get(f"/api/video/{film}/storyboard.vtt", status=200).text.count("storyboard/1.jpg") == 2


def test_the_master_names_an_image_playlist_of_the_sheets(viewer, add_video, storyboarded, media_root):
    """Roku's image playlists, as Jellyfin writes them: `#EXT-X-IMAGE-STREAM-INF` in the master, a segment a
    sheet with its `#EXT-X-TILES` layout. The variants are untouched (hls.js and FFmpeg skip the tag)."""
    film = add_video(hls_path=storyboarded, duration=12.0)
    master = viewer.get(f"/api/video/{film}/master.m3u8", status=200).text
    image = [line for line in master.splitlines() if line.startswith("#EXT-X-IMAGE-STREAM-INF:")]
    assert image == ['#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=5760,RESOLUTION=320x180,CODECS="jpeg",URI="storyboard.m3u8"']
    stored = (media_root / storyboarded / "master.m3u8").read_text()
    assert master == stored + image[0] + "\n"  # the workers' master, and the one line
    playlist = viewer.get(f"/api/video/{film}/storyboard.m3u8", status=200)
    assert playlist.content_type == "application/vnd.apple.mpegurl"
    assert "#EXT-X-IMAGES-ONLY" in playlist.text and playlist.text.endswith("#EXT-X-ENDLIST\n")
    segments = re.findall(r"#EXTINF:([\d.]+),\n(#EXT-X-TILES:[^\n]+)\n(\S+)", playlist.text)
    assert segments == [
        ("8.000", "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=2x2,DURATION=2.000", "storyboard/0.jpg"),
        ("4.000", "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=2x2,DURATION=2.000", "storyboard/1.jpg"),
    ]


def test_no_storyboard_missing_sheets_and_strangers(viewer, add_video, storyboarded, testapp):
    without = add_video()  # an output made before storyboards
    viewer.get(f"/api/video/{without}/storyboard.vtt", status=404)
    viewer.get(f"/api/video/{without}/storyboard.m3u8", status=404)
    assert "IMAGE-STREAM" not in viewer.get(f"/api/video/{without}/master.m3u8", status=200).text
    film = add_video(hls_path=storyboarded, duration=12.0)
    viewer.get(f"/api/video/{film}/storyboard/7.jpg", status=404)
    viewer.get(f"/api/video/{film}/storyboard/..%2Fthumbnail.jpg", status=404)
    viewer.get(f"/api/video/{film}/storyboard/plan.json", status=404)
    testapp.reset()
    testapp.get(f"/api/video/{film}/storyboard.vtt", status=401)
    testapp.get(f"/api/video/{film}/storyboard/0.jpg", status=401)


def test_the_plan_grows_its_interval_with_the_length_and_fits_parts():
    assert storyboard.layout_for(1920, 1080, 60).interval == 2
    assert storyboard.layout_for(1920, 1080, 3 * 3600).interval == 27  # at most ~400 previews
    assert storyboard.layout_for(1920, 1080, 3 * 3600, part_seconds=60).interval == 30  # a divisor of the part
    assert storyboard.layout_for(1080, 1920, 60).height == 284  # portrait: 160 wide
