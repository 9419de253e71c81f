"""Quality-aimed rate control (stream_workers/rate_aim.py): the search for a rung's CRF, the scenes sampled, and
the aim itself on real FFmpeg: a further ladder's rung reaches its reference's quality (less the margin) on
the film's own scenes, its rate raised where the ladder's own CRF falls short, lowered where it is more than
needed. (Through a film made in parts, with the real database: tests/workers/test_part_plans.py.)"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys

import pytest

from stream_workers import aim_sample, av1_ladder, avc_ladder, ffmpeg_run, rate_aim, settings
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support.clips import ZOOM, make_clip


@pytest.mark.parametrize(("value", "expected"), [("0.05", 0.05), ("off", 0.0), ("0", 0.0), (" 0.2 ", 0.2)])
def test_the_rate_aim_setting(value, expected):
    assert settings.share("RATE_AIM", value) == expected


@pytest.mark.parametrize("value", ["0.9", "-0.1", "lots", "", "1e-2"])
def test_a_bad_rate_aim_setting_is_refused_saying_which(value):
    with pytest.raises(ValueError, match=r"RATE_AIM must be a share from 0 to 0\.5"):
        settings.share("RATE_AIM", value)


def linear(slope: float, at_zero: float, calls: list[float]):
    def measure(crf: float) -> float:
        calls.append(crf)
        return at_zero - slope * crf

    return measure


@pytest.mark.parametrize("slope", [0.3, 0.7, 1.5])
@pytest.mark.parametrize("target", [80.0, 88.0, 93.5])
def test_the_search_finds_the_highest_crf_that_reaches_the_target_in_few_probes(slope, target):
    calls: list[float] = []
    crf = rate_aim.search(linear(slope, 100.0, calls), target, av1_ladder.LADDER)
    lowest, highest = av1_ladder.LADDER.crf_bounds
    best = min(max((100.0 - target) // slope, lowest), highest)  # the highest whole CRF at or above the target
    assert 100.0 - slope * crf >= target or crf == lowest
    assert len(calls) <= rate_aim.PROBES and calls[0] == av1_ladder.CRF
    assert best - 2 <= crf <= best, (calls, crf)  # close to the best from at most three probes


def test_a_target_no_probe_reaches_gives_the_best_quality_in_bounds_and_an_easy_one_the_highest():
    calls: list[float] = []
    crf = rate_aim.search(lambda c: calls.append(c) or 70.0 - 0.1 * c, 90.0, av1_ladder.LADDER)
    assert crf == av1_ladder.LADDER.crf_bounds[0] == min(calls)  # (it stops there: nothing better to try)
    calls.clear()  # a target the last probe misses by a little: one step past it, by the measured slope
    crf = rate_aim.search(lambda c: calls.append(c) or 100.0 - 0.3 * c, 91.0, dataclasses.replace(
        av1_ladder.LADDER, vmaf_per_crf=1.5), probes=2)  # fmt: skip
    assert calls == [34.0, 33.0] and crf == 30.0  # (33 - 0.9 / 0.3: the measured slope, not the guessed one)
    assert rate_aim.search(lambda c: 99.0, 90.0, av1_ladder.LADDER) == av1_ladder.LADDER.crf_bounds[1]


def test_a_probe_whose_worst_moments_fall_short_does_not_reach_the_target_its_mean_reaches():
    """The aim weighs the 5th percentile as well as the mean: a probe whose mean reaches its target but
    whose 5th percentile falls 1.2 below its own counts 1.2 below the mean's target, so the search goes on
    down to a CRF that holds both."""
    even, spiky = rate_aim.Probe(24.0, 95.0, 900.0, p5=91.0), rate_aim.Probe(24.0, 95.0, 900.0, p5=88.3)
    assert even.against(94.5, 89.5) == 95.0 and spiky.against(94.5, 89.5) == pytest.approx(93.3)
    # mean: 100 - 0.2 c; 5th percentile: 100 - 0.5 c. Targets 94 and 89.5: the mean alone reaches at 30,
    # both at 21
    probes = {c: rate_aim.Probe(c, 100.0 - 0.2 * c, 1000.0 - 10 * c, p5=100.0 - 0.5 * c) for c in range(16, 33)}
    assert rate_aim.search(lambda c: probes[c].vmaf, 94.0, avc_ladder.LADDER, probes=6) == 30.0
    crf = rate_aim.search(lambda c: probes[c].against(94.0, 89.5), 94.0, avc_ladder.LADDER, probes=6)
    assert crf == 21.0


def test_the_aim_never_keeps_a_rate_the_verdict_must_refuse_where_a_smaller_probe_holds_the_quality():
    """A rung's chosen probe took as many bytes as the served rendition's (the verdict lists only smaller
    ones): the lowest CRF of the probes that took fewer and stay within the verdict's tolerance of the
    served quality is taken instead; none such, the chosen one stays (it is not listed either way)."""
    served = rate_aim.Probe(-1.0, 99.4, 1000.0)
    probes = [rate_aim.Probe(34.0, 99.0, 700.0), rate_aim.Probe(27.0, 99.3, 950.0), rate_aim.Probe(20.0, 99.9, 1020.0)]
    assert rate_aim.smaller_than(20.0, probes, served) == 27.0
    assert rate_aim.smaller_than(27.0, probes, served) == 27.0  # smaller already
    assert rate_aim.smaller_than(19.0, probes, served) == 19.0  # not probed (one step past the best measured)
    poor = [rate_aim.Probe(34.0, 97.9, 700.0), rate_aim.Probe(20.0, 99.9, 1020.0)]
    assert rate_aim.smaller_than(20.0, poor, served) == 20.0  # 1.5 below the served quality: not listed either


def test_scenes_are_sampled_evenly_a_share_of_the_stretch_in_whole_windows():
    assert aim_sample.windows(0.0, 6.0, 0.05) == [(0.0, 6.0)]  # no longer than the fewest windows: whole
    fewest = aim_sample.windows(10.0, 30.0, 0.05)  # 1.5 s of 30: the fewest, each in the middle of its 5 s slice
    assert fewest == [(12.0, 1.0), (17.0, 1.0), (22.0, 1.0), (27.0, 1.0), (32.0, 1.0), (37.0, 1.0)]
    spread = aim_sample.windows(60.0, 1200.0, 0.05)  # 60 s of 1200: 60 windows, at most MOST_WINDOWS
    assert len(spread) == aim_sample.MOST_WINDOWS == 24 and all(s >= 60.0 and s + 1.0 <= 1260.0 for s, _ in spread)
    assert [round(b[0] - a[0], 3) for a, b in itertools.pairwise(spread)] == [50.0] * 23


def test_the_aim_raises_the_rate_where_the_reference_is_demanding_and_keeps_it_where_it_is_not(tmp_path):
    """Real FFmpeg: the AV1 ladder aimed against a demanding H.264 reference (CRF 14, capped at 3x the rung's
    fixed rate) takes a CRF below its own (34), against an easy one (CRF 30) its own, from one probe; each
    measured to reach its target on the samples, at the reference's cap."""
    ffmpeg = ffmpeg_exe()
    source = make_clip(tmp_path / "zoom.mp4", seconds=6, size="640x360", rate=25, scene=ZOOM, preset="veryfast")
    info = probe(source)
    rungs = ladder_for(info.short_side)
    aims = {}
    for crf, cap in ((14.0, 3.0), (30.0, 0.9)):
        reference = dataclasses.replace(H264, crf=crf, cap=cap)
        aims[crf] = rate_aim.aim(ffmpeg, source, info, av1_ladder.LADDER, reference, rungs, (0.0, 6.0),
                                 workdir=tmp_path)["480p"]  # fmt: skip
        aim = aims[crf]
        assert aim.reached and aim.target == pytest.approx(aim.reference - rate_aim.MARGIN, abs=0.01), aim
        assert aim.cap == cap  # the reference's cap, not the AV1 ladder's lower one
    assert aims[14.0].crf < av1_ladder.CRF == aims[30.0].crf and len(aims[30.0].probes) == 1, aims
    assert aims[14.0].reference > aims[30.0].reference
    assert list(tmp_path.iterdir()) == [source]  # the clip and the probes are gone


def test_a_picture_of_an_odd_size_is_sampled_whole_and_aimed(tmp_path):
    """A camera's 720x405 (the real corpus' city street): its sample clip keeps every pixel (4:4:4), where a
    4:2:0 clip of an odd size cannot be encoded at all and the film's rate went unaimed."""
    odd = "testsrc2=size=720x406:rate={rate},format=yuv444p,crop=720:405"  # (testsrc2 makes even sizes only)
    source = make_clip(tmp_path / "odd.mp4", seconds=3, rate=25, scene=odd, extra=["-pix_fmt", "yuv444p"])
    info = probe(source)
    assert (info.width, info.height) == (720, 405)
    reference = dataclasses.replace(H264, crf=18.0)
    aims = rate_aim.aim(ffmpeg_exe(), source, info, H264, reference, ladder_for(info.short_side), (0.0, 3.0),
                        workdir=tmp_path)  # fmt: skip
    assert [name for name, aim in aims.items() if aim.reached] == [r.name for r in ladder_for(info.short_side)]


def test_the_probes_yield_the_cpu_as_their_ladders_encode_does(monkeypatch):
    """The aim's FFmpeg runs at the ladder's niceness (AV1's 10: the H.264 jobs on the machine go first)."""
    lowered = []
    monkeypatch.setattr(ffmpeg_run.os, "setpriority", lambda which, pid, value: lowered.append((pid, value)))
    ffmpeg_run.run_to_end([sys.executable, "-c", "pass"], 30.0, av1_ladder.LADDER.niceness)
    assert [value for _, value in lowered] == [os.getpriority(os.PRIO_PROCESS, 0) + 10]
    with pytest.raises(ffmpeg_run.TranscodeError):
        ffmpeg_run.run_to_end([sys.executable, "-c", "import sys; sys.exit(3)"], 30.0)


def test_the_aim_holds_the_better_of_the_served_quality_and_the_fixed_ladders(tmp_path):
    """Against a served ladder below the fixed one's quality (x264 at CRF 30), the fixed ladder given too: the
    target is the fixed ladder's score on the samples less the margin, so the aimed rung gets more bits than
    against the served ladder alone (`rates_for` gives the fixed ladder wherever the served one is per title)."""
    source = make_clip(tmp_path / "zoom.mp4", seconds=3, size="320x180", rate=25, scene=ZOOM, preset="veryfast")
    info = probe(source)
    rungs = ladder_for(info.short_side)
    served = dataclasses.replace(H264, crf=30.0)
    alone, both = (
        rate_aim.aim(ffmpeg_exe(), source, info, avc_ladder.LADDER, served, rungs, (0.0, 3.0), workdir=tmp_path,
                     also=also)["480p"]
        for also in (None, H264)
    )  # fmt: skip
    assert both.reference > alone.reference + 1.0, (alone, both)  # the fixed ladder scores higher here
    assert both.target == pytest.approx(both.reference - rate_aim.MARGIN, abs=0.01) and both.crf < alone.crf
