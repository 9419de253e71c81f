"""Measured quality (stream_workers/quality.py) with the real FFmpeg and libvmaf: frames paired from each
input's first one (a one-frame shift is caught), sampled segments of an output scored against the source,
a starved rendition flagged."""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import subprocess
from pathlib import Path

import pytest

from stream_workers import (
    av1_ladder,
    ffmpeg_run,
    hls,
    hls_output,
    ladder_verdict,
    ladders,
    quality,
    rate_aim,
)
from stream_workers.av1_ladder import LADDER as AV1
from stream_workers.film_steps import FilmSteps
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support import made
from ..support.clips import ffmpeg, make_clip, phone_like, video_timestamps
from ..support.fmp4 import decode_starts


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("quality") / "source.mp4", seconds=9, size="640x360", rate=25,
                     preset="veryfast", extra=["-crf", "12"])  # fmt: skip


def compare(distorted: Path, source: Path, tmp_path: Path) -> quality.Score:
    info = probe(source)
    log = tmp_path / f"{distorted.stem}.json"
    ffmpeg_run.run_to_end(quality.compare_command(ffmpeg_exe(), distorted, "mp4", source, info, (640, 360), log), 120)
    return quality.score(quality.frame_scores(log))


def test_frames_are_paired_from_each_inputs_start_and_a_one_frame_shift_is_caught(source, tmp_path):
    """The same encode twice: once as is, once with its timestamps moved 1.4 s on (as MPEG-TS renditions start),
    scores the same; the encode one frame late scores far lower."""
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k", "-an"]
    same = tmp_path / "same.mp4"
    ffmpeg("-i", str(source), *encode, str(same))
    later = tmp_path / "later.mp4"
    ffmpeg("-i", str(same), "-c", "copy", "-output_ts_offset", "1.4", str(later))
    shifted = tmp_path / "shifted.mp4"
    ffmpeg("-i", str(source), "-vf", "trim=start_frame=1,setpts=PTS-STARTPTS", *encode, str(shifted))

    aligned, moved, off_by_one = (compare(p, source, tmp_path) for p in (same, later, shifted))
    assert aligned.mean > 90 and aligned.frames == 225
    assert moved.mean == pytest.approx(aligned.mean, abs=0.01)
    assert off_by_one.mean < aligned.mean - 10, (aligned, off_by_one)


def test_an_outputs_sampled_segments_are_scored_and_a_starved_rendition_is_flagged(source, tmp_path):
    info = probe(source)
    rungs = ladder_for(info.short_side)
    scores = {}
    for name, kbps in (("fair", rungs[0].video_kbps), ("starved", 40)):
        out = tmp_path / name
        out.mkdir()
        starved = [type(rungs[0])(rungs[0].name, rungs[0].short_side, kbps)]
        asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, starved).single_pass(ffmpeg_exe(), source, out)))
        renditions = hls_output.master_renditions(out, starved)
        scores[name] = quality.rated(ffmpeg_exe(), source, info, out.joinpath, starved, renditions, 80.0, 2)
    fair, starved = scores["fair"][0]["quality"], scores["starved"][0]["quality"]
    # 9 s: one window (the film's share is less), in the middle segment: its first WINDOW seconds, every
    # STEP-th frame
    assert quality.windows(9.0, 2) == 1 and quality.sampled_segments(3, 1) == [1]
    assert fair["frames"] == len(range(0, int(25 * quality.WINDOW), quality.STEP))
    assert fair["vmaf"] > 90 and fair["vmaf_p5"] <= fair["vmaf"] and not fair["below_floor"], fair
    assert starved["vmaf"] < 80 and starved["below_floor"], starved
    unmeasured = [{"name": rungs[0].name}]
    assert quality.rated(ffmpeg_exe(), source, info, out.joinpath, rungs, unmeasured, 80.0, 0) == unmeasured


def test_the_av1_twins_are_scored_beside_their_h264_renditions(source, tmp_path):
    """fMP4 segments (the AV1 ladder's) are scored after their init segment, in the same windows as the
    H.264 ones; a starved AV1 twin is told from a fair one."""
    info = probe(source)
    rungs = ladder_for(info.short_side)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs, crf=19).single_pass(ffmpeg_exe(), source, tmp_path)))
    ladder_verdict.make_folders(AV1, tmp_path, rungs)
    asyncio.run(
        ffmpeg_run.run_ffmpeg(
            FilmSteps(info, rungs, av1_ladder.LADDER, crf=63, cap=0.05).ladder_pass(ffmpeg_exe(), source, tmp_path)
        )
    )
    # both ladders on one clock (the TS muxer's delay added to the fMP4's offset), so one subtitle map fits
    assert (
        first_timestamp(tmp_path / f"av1/{rungs[0].name}/index.m3u8")
        == first_timestamp(tmp_path / f"{rungs[0].name}/index.m3u8")
        == pytest.approx(hls.TS_OFFSET + hls.MPEGTS_DELAY, abs=0.05)
    )
    # and in the fragments' own decode times, which hls.js places them by (it ignores an edit list)
    first = tmp_path / f"av1/{rungs[0].name}"
    starts = decode_starts(first / "init.mp4", first / "000.m4s")
    assert starts["vide"] == pytest.approx(hls.TS_OFFSET + hls.MPEGTS_DELAY, abs=0.05), starts
    assert starts["soun"] == pytest.approx(starts["vide"], abs=0.05), starts  # (AAC's priming: 1024 samples)
    scores = quality.measured(ffmpeg_exe(), source, info, tmp_path.joinpath, rungs, 2, ladder_verdict.twins(AV1, rungs))
    h264, av1 = scores[rungs[0].name], scores[f"av1/{rungs[0].name}"]
    assert av1.frames == h264.frames == len(range(0, int(25 * quality.WINDOW), quality.STEP))
    assert h264.mean > 90 and av1.mean < h264.mean - 5, (h264, av1)  # CRF 63 at 5 % of the bitrate: starved
    master, variants = (tmp_path / "master.m3u8").read_text(), (tmp_path / ladder_verdict.master_of(AV1)).read_text()
    twins = ladder_verdict.decide(AV1, rungs, master, variants, scores, 80.0)
    assert not twins[rungs[0].name]["fit"] and twins[rungs[0].name]["quality"]["vmaf"] == round(av1.mean, 2)
    assert not any(twin["listed"] for twin in twins.values())


def test_a_window_starts_where_fewest_pictures_are_decoded_in_vain_and_its_pictures_stay_paired(tmp_path):
    """A source whose keyframes are seconds apart: a window at a segment's start decodes the source from the
    keyframe before it, one at a keyframe of the source decodes the renditions from their segment's start;
    the shorter lead is taken. Read from a keyframe of the source, the renditions skip to the same picture:
    their window scores as the segment start's does, and a one-frame slip of the skip is caught."""
    # keyframes at 0, 1 s and 290/30 s (the first picture from 9.66 s on): a time FFmpeg's options, printed
    # to the millisecond, round up (9.667)
    sparse = ["-crf", "12", "-g", "1000", "-sc_threshold", "0", "-force_key_frames", "1,9.66"]
    source = make_clip(tmp_path / "sparse.mp4", seconds=13, size="640x360", rate=30, preset="veryfast", extra=sparse)
    info = probe(source)
    rung = ladder_for(info.short_side)[0]
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, [rung]).single_pass(ffmpeg_exe(), source, tmp_path)))
    entries = quality._entries((tmp_path / rung.name / "index.m3u8").read_text())
    assert [x for start, length, _ in entries for x in (start, length)] == pytest.approx([0, 4, 4, 4, 8, 4, 12, 1])
    assert quality.keyframe_before(ffmpeg_exe(), source, info, 11.0, 60) == pytest.approx(290 / 30)
    place = functools.partial(quality.window_at, ffmpeg_exe(), source, info, entries)
    assert place(2, -1, 60) == (2, pytest.approx(50 / 30))  # the keyframe in the segment
    assert place(0, -1, 60) == (0, 0.0)  # the start, a keyframe, rather than the renditions from it to 1 s
    assert place(1, -1, 60) == (1, 0.0)  # not the film's opening (sampled_segments skips it), though cheaper
    assert place(3, -1, 60) == (2, pytest.approx(50 / 30))  # the renditions from 8 s, not the source from 9.67 s
    assert place(3, 2, 60) == (3, 0.0)  # ... unless a window took that segment
    name = entries[2][2]

    def scored(at: float, skip: float) -> quality.Score:
        log = tmp_path / f"{at}-{skip}.json"
        segment = (tmp_path / rung.name / name, "mpeg-ts", quality.size_of(info, rung), log)
        ffmpeg_run.run_to_end(quality.window_command(ffmpeg_exe(), source, info, [segment], at, 1.0, skip=skip), 120)
        return quality.score(quality.frame_scores(log))

    keyframe, segment_start, slipped = scored(290 / 30, 50 / 30), scored(8.0, 0.0), scored(290 / 30, 51 / 30)
    assert keyframe.frames == segment_start.frames == len(range(0, 30, quality.STEP))
    assert keyframe.mean > 90 and keyframe.mean == pytest.approx(segment_start.mean, abs=2), (keyframe, segment_start)
    assert slipped.mean < keyframe.mean - 10, (keyframe, slipped)
    measured = quality.measure(ffmpeg_exe(), source, info, tmp_path.joinpath, [rung], most=1)[rung.name]
    assert measured.mean == pytest.approx(keyframe.mean, abs=0.01)  # (the third segment, from its keyframe)


@pytest.mark.parametrize("encoder", ["x264 fixed", "SVT-AV1"])
def test_every_step_th_frame_scores_what_every_frame_does(cockatoo, encoder, tmp_path):
    """Scored every STEP-th frame (the workers' measurement, the aim's probes), a real camera's 480p rendition
    scores as on every frame: libvmaf picks the frames and its motion feature sees them all (frames picked
    before it scored x264 2.3 points higher), and the step is odd (every 2nd frame scored SVT-AV1's better
    layers alone, 1.4 points higher)."""
    source, info = cockatoo
    rung = next(r for r in ladder_for(info.short_side) if r.name == "480p")
    ladder = ladders.H264.at("veryfast") if encoder == "x264 fixed" else AV1.at("8")
    rate = ladder.rate_options(0, rung) if encoder == "x264 fixed" else ladder.rate_options(0, rung, 34.0)
    rendition = tmp_path / "rendition.mp4"
    ffmpeg("-t", "6", "-i", str(source), "-vf", "scale=-2:480:flags=bicubic", *rate, *ladder.video_options(), "-an",
           str(rendition))  # fmt: skip

    def scored(step: int) -> quality.Score:
        log = tmp_path / f"every-{step}.json"
        argv = quality.compare_command(ffmpeg_exe(), rendition, "mp4", source, info, (854, 480), log, step)
        ffmpeg_run.run_to_end(argv, 300)
        return quality.score(quality.frame_scores(log))

    every = scored(1)
    assert every.frames == 120 and 80 < every.mean < 99.5, every  # (a rendition that loses something)
    for step in {quality.STEP, rate_aim.STEP}:
        sampled = scored(step)
        assert sampled.frames == len(range(0, 120, step))
        assert sampled.mean == pytest.approx(every.mean, abs=0.5), (step, sampled, every)
        assert sampled.p5 == pytest.approx(every.p5, abs=1.5), (step, sampled, every)
    with pytest.raises(ValueError, match="even"):
        quality.vmaf(tmp_path / "log.json", 2)


def test_score_and_sampling():
    assert quality.score([90.0] * 19 + [10.0]) == quality.Score(86.0, 10.0, 20)
    assert quality.score([50.0, 100.0]).p5 == 50.0
    assert quality.sampled_segments(100, 4) == [12, 37, 62, 87]
    assert [quality.windows(seconds, 30) for seconds in (9, 60, 600, 7200)] == [1, 1, 12, 30]
    assert quality.sampled_segments(3, 4) == [0, 1, 2]
    assert quality.sampled_segments(0, 4) == []
    assert quality._entries("#EXTINF:4.0,\n000.ts\n#EXTINF:2.5,\n001.ts\n#EXT-X-ENDLIST\n") == [
        (0.0, 4.0, "000.ts"), (4.0, 2.5, "001.ts"),
    ]  # fmt: skip


def test_a_per_title_masters_bandwidths_are_what_its_segments_measure(source, tmp_path):
    """Capped CRF asks for no bitrate: the master's BANDWIDTH (the fastest segment) and AVERAGE-BANDWIDTH
    (all of them) are measured from the segments made, which players choose renditions by."""
    info = probe(source)
    rungs = ladder_for(info.short_side)
    asyncio.run(
        ffmpeg_run.run_ffmpeg(
            FilmSteps(info, rungs, crf=ladders.PER_TITLE_CRF).single_pass(ffmpeg_exe(), source, tmp_path)
        )
    )
    playlist = (tmp_path / rungs[0].name / "index.m3u8").read_text()
    lengths = [float(x) for x in re.findall(r"#EXTINF:([\d.]+)", playlist)]
    sizes = [(tmp_path / rungs[0].name / name).stat().st_size for name in re.findall(r"^\d{3}\.ts$", playlist, re.M)]
    peak = max(8 * size / length for size, length in zip(sizes, lengths, strict=True))
    master = (tmp_path / "master.m3u8").read_text()
    assert int(re.search(r"[^-]BANDWIDTH=(\d+)", master).group(1)) == pytest.approx(peak, rel=0.001)
    average = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", master).group(1))
    assert average == pytest.approx(8 * sum(sizes) / sum(lengths), rel=0.001)


def first_timestamp(playlist) -> float:
    """The first picture's timestamp (seconds) in a rendition, as FFmpeg's HLS client reads it (timestamps kept)."""
    listing = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-copyts", "-i", str(playlist), "-map", "0:v:0", "-frames:v", "1",
         "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pts = next(line for line in listing.splitlines() if not line.startswith("#")).split(",")[2]  # stream, dts, pts
    timebase = next(line for line in listing.splitlines() if line.startswith("#tb 0:")).split(":")[1].strip()
    num, den = (int(x) for x in timebase.split("/"))
    return int(pts) * num / den


def test_a_variable_rate_grainy_source_scores_as_a_fixed_rate_encode_of_it(tmp_path, monkeypatch):
    """The renditions of a phone's variable-rate, grainy clip look like their source; scored in windows over
    the whole film (the rate changes at 5.7 s), they score within a point of the renditions of a fixed-rate
    copy of the same pictures, every window and its 5th percentile too (paired by each window's first
    picture, the windows after the change scored ~45, p5 ~25)."""
    monkeypatch.setattr(quality, "SHARE", 1.0)  # a window in every segment
    phone = phone_like(tmp_path / "phone.mp4")
    fixed = tmp_path / "fixed.mp4"
    ffmpeg("-i", str(phone), "-vf", "fps=30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-c:a",
           "copy", str(fixed))  # fmt: skip
    scores = {}
    for name, source in (("phone", phone), ("fixed", fixed)):
        info = probe(source)
        rungs = ladder_for(info.short_side)
        out = tmp_path / name
        out.mkdir()
        asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs).single_pass(ffmpeg_exe(), source, out)))
        scores[name] = (info, quality.measure(ffmpeg_exe(), source, info, out.joinpath, rungs)[rungs[0].name])
    (phone_info, phone_score), (fixed_info, fixed_score) = scores["phone"], scores["fixed"]
    assert phone_info.cfr_rate == 30.0 and fixed_info.cfr_rate is None  # made constant, and already so
    assert phone_score.frames >= 30, phone_score  # every segment's window
    assert phone_score.mean == pytest.approx(fixed_score.mean, abs=1.0), scores
    assert phone_score.p5 > 85 and phone_score.p5 >= fixed_score.p5 - 2, scores


def test_a_phone_clip_made_in_parts_keeps_the_films_grid_and_scores_as_its_single_pass(tmp_path, monkeypatch):
    """The same clip in 8 s parts: each part makes exactly the film's constant-rate slots in its range (a
    picture lasting past a part's cut made one more, a one-frame segment that took the next part's first
    segment's name), so the joined rendition steps one frame at a time with every segment named once, holds
    the single pass's frames, and scores as it does."""
    monkeypatch.setattr(quality, "SHARE", 1.0)
    phone = phone_like(tmp_path / "phone.mp4", seconds=20.0)
    info = probe(phone)
    rungs = ladder_for(info.short_side)
    single = made.in_one_pass(phone, info, rungs, tmp_path / "single")
    parted = made.in_parts(phone, info, rungs, tmp_path / "parts", part_seconds=8)

    playlist = parted / rungs[0].name / "index.m3u8"
    names = [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]
    assert len(names) == len(set(names)), names
    frames = video_timestamps(playlist)
    assert all(b - a == 1 for a, b in itertools.pairwise(frames))
    assert len(frames) == len(video_timestamps(single / rungs[0].name / "index.m3u8"))
    scores = [
        quality.measure(ffmpeg_exe(), phone, info, out.joinpath, rungs)[rungs[0].name] for out in (single, parted)
    ]
    # (each part's encode starts its rate control afresh: a point or so lower at a part's start; a picture
    # paired with its neighbour scores ~40)
    assert scores[1].mean == pytest.approx(scores[0].mean, abs=2.0) and scores[1].p5 > 80, scores
