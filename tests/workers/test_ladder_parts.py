"""A further ladder made in parts (stream_workers/fmp4_parts.py) on a real clip: the AV1 ladder of a film whose
H.264 renditions were made in parts, or in one pass, part after part, joins into fMP4 renditions that FFmpeg's
HLS client decodes end to end with every source frame once, no timestamp jump at a join, the film's sound once
with no gap (the H.264 renditions' own packets), on the H.264 renditions' clock (which differs with how they
were made); each part has its init segment, named in the playlist before the part's segments."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import pytest

from stream_workers import ffmpeg_run, film_parts, fmp4_parts, hls, hls_output
from stream_workers.av1_ladder import LADDER as AV1
from stream_workers.film_steps import FilmSteps, picture_file
from stream_workers.hevc_ladder import LADDER as HEVC
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support import made as made_whole
from ..support.clips import CALM, audio_gaps, audio_samples, make_clip, stream_starts, video_timestamps

LADDERS = (AV1, HEVC)


@pytest.fixture(scope="module", params=["h264 in parts", "h264 in one pass"])
def made(request, tmp_path_factory) -> tuple[Path, Path, list]:
    """A 20 s film's H.264 ladder made in three parts (8, 8, 4 s), or in one pass, as the pipeline makes it
    (a long film, a short one); then its AV1 and HEVC ladders in those three parts, on its clock."""
    folder = tmp_path_factory.mktemp("ladder-parts")
    source = make_clip(folder / "film.mp4", seconds=20, size="320x180", rate=30, scene=CALM)
    info, ffmpeg, out = probe(source), ffmpeg_exe(), folder / "out"
    rungs, plan = ladder_for(info.short_side), film_parts.cut_film(info.duration, 8)
    if request.param == "h264 in parts":
        for argv in [FilmSteps(info, []).sound_job(ffmpeg, source, out)] + [
            FilmSteps(info, rungs, H264.at("veryfast")).picture_part(ffmpeg, source, out, part) for part in plan
        ]:
            asyncio.run(ffmpeg_run.run_ffmpeg(argv))
        film_parts.assemble_folder(ffmpeg, out, info, rungs, plan)
        clock = hls.PARTS_CLOCK
    else:
        made_whole.in_one_pass(source, info, rungs, out)
        clock = hls.ONE_PASS_CLOCK
    for ladder in LADDERS:
        fmp4_parts.assemble_folder(ffmpeg, source, out, info, ladder, rungs, plan, clock)
    return source, out, rungs


@pytest.mark.parametrize("ladder", LADDERS, ids=lambda ladder: ladder.name)
def test_the_parts_join_without_a_seam(made, ladder):
    source, out, rungs = made
    hls_output.check_output(out, rungs, ladder.folders(rungs))  # every file named is there
    playlist = out / ladder.folder / rungs[0].name / "index.m3u8"
    text = playlist.read_text()
    # one init per part, named before the part's first segment (8 s parts of 4 s segments: every second one)
    maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"\n#EXTINF:[\d.]+,\n(\S+)', text)
    assert maps == [("init-0000.mp4", "000.m4s"), ("init-0001.mp4", "002.m4s"), ("init-0002.mp4", "004.m4s")]
    frames = video_timestamps(playlist)
    assert len(frames) == len(video_timestamps(source)) == 20 * 30
    assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # no jump or overlap at a join
    h264 = out / rungs[0].name / "index.m3u8"
    assert audio_samples(playlist) == audio_samples(h264)  # the H.264 renditions' sound, every packet once
    assert audio_gaps(playlist) == []
    assert not (out / "parts").exists()  # the parts' pictures are gone


@pytest.mark.parametrize("ladder", LADDERS, ids=lambda ladder: ladder.name)
def test_the_ladder_keeps_the_h264_renditions_clock(made, tmp_path, ladder):
    _, out, rungs = made
    folder = out / ladder.folder / rungs[0].name
    starts = {}
    for name in ("002", "003"):  # a part's first segment, and the next
        joined = tmp_path / f"{name}.mp4"  # a part's segment decodes after the part's own init
        joined.write_bytes((folder / "init-0001.mp4").read_bytes() + (folder / f"{name}.m4s").read_bytes())
        starts[name] = (stream_starts(joined), stream_starts(out / rungs[0].name / f"{name}.ts"))
    av1, h264 = starts["002"]
    assert av1 == pytest.approx(h264, abs=1e-3)  # where a part begins, picture and sound as in H.264
    # within a part, the fMP4 muxer cuts the sound where the picture's keyframe arrives in decode order: a
    # segment's sound may start a few AAC frames apart from the TS one (up to the encoder's reorder delay,
    # x265's the longest: 2 frames of sound here); the sound runs on without a gap either way (above)
    av1, h264 = starts["003"]
    assert av1["video"] == pytest.approx(h264["video"], abs=1e-3)
    assert av1["audio"] == pytest.approx(h264["audio"], abs=0.1)


@pytest.mark.parametrize(("ladder", "codec"), [(AV1, "av01"), (HEVC, "hvc1")], ids=["av1", "hevc"])
def test_the_ladders_master_names_its_codecs_and_measured_bandwidth(made, ladder, codec):
    _, out, rungs = made
    master = (out / ladder.folder / "master.m3u8").read_text()
    variant = re.search(
        rf'BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+),RESOLUTION=320x180,CODECS="{codec}[^"]*,mp4a', master
    )
    assert variant and int(variant[1]) >= int(variant[2]) > 0, master
    segments = sorted((out / ladder.folder / rungs[0].name).glob("*.m4s"))
    size = sum(path.stat().st_size for path in segments)
    assert int(variant[2]) == pytest.approx(8 * size / 20, rel=0.02)


def test_a_parts_sound_is_the_h264_segments_of_its_range():
    playlist = "".join(f"#EXTINF:4.0,\n{n:03d}.ts\n" for n in range(7)) + "#EXT-X-ENDLIST\n"
    plan = film_parts.cut_film(26.0, 8)  # 8, 8, 10 s
    assert [fmp4_parts.sound_segments(playlist, c, c == plan[-1]) for c in plan] == [
        ["000.ts", "001.ts"], ["002.ts", "003.ts"], ["004.ts", "005.ts", "006.ts"]
    ]  # fmt: skip


def test_a_part_whose_picture_is_not_what_its_worker_wrote_fails_the_join(tmp_path):
    """The join reads the part's picture as NUT by name, and nothing else: a file of another kind in its place
    (an MP4 here) fails with a reason, and the part's sound file is gone."""
    ffmpeg, rungs, part = ffmpeg_exe(), ladder_for(180), film_parts.cut_film(8.0, 8)[0]
    fmp4_parts.make_folders(tmp_path, AV1, rungs)
    make_clip(tmp_path / picture_file(AV1, rungs[0], part), seconds=1, size="320x180", extra=["-f", "mp4"])
    (tmp_path / rungs[0].name).mkdir()
    (tmp_path / rungs[0].name / "index.m3u8").write_text("#EXTM3U\n#EXTINF:4.0,\n000.ts\n#EXT-X-ENDLIST\n")
    make_clip(tmp_path / rungs[0].name / "000.ts", seconds=1, size="320x180", extra=["-f", "mpegts"])
    with pytest.raises(ffmpeg_run.TranscodeError, match="part 0 could not be joined"):
        fmp4_parts.join_part(ffmpeg, tmp_path, AV1, rungs, part, True, tmp_path.joinpath, True)
    assert not list(tmp_path.rglob("*.sound.ts"))
