"""Scene-aware rate control (stream_workers/scenes.py, rate_aim): shots found where the picture cuts, short shots
joined, sampled windows kept inside one scene each, each scene's CRF from its own windows, and x264's zones;
then on real FFmpeg a film of two scenes (fine moving detail, then a calm backdrop) whose best H.264 ladder
gives each scene its own rate, and the film's encode follows it."""

from __future__ import annotations

import dataclasses
import math

import pytest

from stream_workers import avc_ladder, rate_aim, scenes
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support.clips import CALM, ZOOM, ffmpeg, make_clip
from ..support.media import film


def test_shots_shorter_than_the_shortest_scene_join_the_one_before():
    assert scenes.of_stretch(30.0, []) == [(0.0, 30.0)]
    assert scenes.of_stretch(30.0, [10.0, 11.0, 20.0]) == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    assert scenes.of_stretch(30.0, [1.0, 29.0]) == [(0.0, 30.0)]  # a first and a last shot too short alone
    assert scenes.of_stretch(3.0, [1.5]) == [(0.0, 3.0)]


def test_a_stretch_of_more_scenes_than_windows_is_rated_by_groups_of_neighbouring_shots():
    parts = [(0.0, 2.0), (2.0, 4.5), (4.5, 20.0), (20.0, 22.0), (22.0, 30.0)]
    assert scenes.grouped(parts, 3) == [(0.0, 4.5), (4.5, 20.0), (20.0, 30.0)]
    assert scenes.grouped(parts, 9) == parts and scenes.grouped(parts, 1) == [(0.0, 30.0)]


def test_windows_are_moved_inside_one_scene_and_every_scene_gets_one():
    parts = [(0.0, 10.0), (10.0, 20.0), (20.0, 21.0 + 9.0)]
    spans = [(9.5, 2.0), (25.0, 2.0)]  # the first across the cut at 10 s (its middle in the second scene)
    placed = scenes.placed(spans, parts, 0.0)
    assert placed == [(4.0, 2.0), (10.0, 2.0), (25.0, 2.0)], placed  # moved inside; the first scene sampled too
    assert [scenes.scene_of(w, parts) for w in placed] == [0, 1, 2]
    assert scenes.placed([(105.0, 2.0)], [(0.0, 1.5), (1.5, 20.0)], 100.0) == [(100.0, 1.5), (105.0, 2.0)]


def test_each_windows_mean_is_read_from_the_clips_frames():
    frames = [90.0] * 10 + [70.0] * 20  # a 1 s window, then a 2 s one
    assert scenes.window_means(frames, [1.0, 2.0]) == [90.0, 70.0]
    assert math.isnan(scenes.window_means([80.0], [1.0, 2.0, 3.0])[0])  # (a window no frame fell in)


def test_a_scenes_crf_is_the_highest_its_windows_say_reaches_the_target_near_the_probes():
    bounds = (16.0, 32.0)
    assert scenes.crf_for({23.0: 96.0}, 94.0, 0.5, bounds) == 27.0  # 2 points to spare: 4 steps up
    assert scenes.crf_for({23.0: 99.0}, 94.0, 0.5, bounds) == 27.0  # at most MOST_STEPS from the probe
    assert scenes.crf_for({23.0: 92.0, 20.0: 93.6}, 94.0, 0.5, bounds) == 19.0  # below: down from the nearest
    assert scenes.crf_for({17.0: 80.0}, 94.0, 0.5, bounds) == 16.0  # within the bounds
    assert scenes.crf_for({}, 94.0, 0.5, bounds) == 32.0


def test_the_scenes_become_x264_zones_per_stream():
    zones = scenes.frame_zones([(0.0, 4.0), (4.0, 10.0), (10.0, 12.5)], [24.0, 22.0, 27.0], 25.0, 24.0)
    assert zones == ((100, 249, 22.0), (250, 311, 27.0))  # the scene at the rung's own CRF needs none
    assert scenes.zones_option(1, zones) == ["-x264-params:v:1", "zones=100,249,crf=22/250,311,crf=27"]
    assert scenes.zones_option(0, ()) == []
    steps = FilmSteps(film(), ladder_for(360), avc_ladder.LADDER, rates={"480p": (24.0, 0.9)},
                      zones={"480p": zones})  # fmt: skip
    assert steps._rate(0, ladder_for(360)[0])[-2:] == ["-x264-params:v:0", "zones=100,249,crf=22/250,311,crf=27"]


def test_where_the_worst_moments_lower_a_rungs_crf_every_scene_moves_with_it():
    """Each scene is rated on its windows' means; where the rung's CRF went below the one its mean reached (its
    5th percentile fell short, or the bytes), every scene's CRF goes down by as much, within the bounds."""
    parts, spans = [(0.0, 4.0), (4.0, 8.0)], [(1.0, 1.0), (5.0, 1.0)]
    probes = [rate_aim.Probe(c, 96.0 - 0.5 * (c - 23), 900.0, (97.0 - 0.5 * (c - 23), 95.0 - 0.5 * (c - 23)))
              for c in (23.0, 21.0)]  # fmt: skip
    info = dataclasses.replace(film(), cfr_rate=25.0)
    ladder = avc_ladder.LADDER
    as_means = rate_aim.scene_zones(info, ladder, parts, spans, 0.0, probes, 95.0, 23.0)
    lowered = rate_aim.scene_zones(info, ladder, parts, spans, 0.0, probes, 95.0, 21.0, -2.0)
    # the calm first scene 4 steps above the hard second one, which is at the rung's CRF (no zone): either way
    assert as_means == ((0, 99, 27.0),) and lowered == ((0, 99, 25.0),), (as_means, lowered)
    # never below the ladder's bounds: both scenes at 16, the rung's own CRF, need no zone
    assert rate_aim.scene_zones(info, ladder, parts, spans, 0.0, probes, 95.0, 16.0, -12.0) == ()


def test_where_the_rung_moved_up_to_a_rate_the_verdict_can_list_every_scene_moves_up_with_it():
    """`smaller_than` raised the rung's CRF above the one its mean reached (the bytes the verdict refuses):
    the scenes move up as far, or the zones would keep spending the bytes it meant to save; within the bounds."""
    parts, spans = [(0.0, 4.0), (4.0, 8.0)], [(1.0, 1.0), (5.0, 1.0)]
    probes = [rate_aim.Probe(c, 96.0 - 0.5 * (c - 23), 900.0, (97.0 - 0.5 * (c - 23), 95.0 - 0.5 * (c - 23)))
              for c in (23.0, 21.0, 25.0)]  # fmt: skip
    assert rate_aim.scene_shift(23.0, probes, 95.5) == 0.0  # (23: the highest whose mean reaches 95.5)
    assert rate_aim.scene_shift(21.0, probes, 95.5) == -2.0  # held lower by the 5th percentile
    assert rate_aim.scene_shift(25.0, probes, 95.5) == 2.0  # raised by smaller_than
    probes = probes[:2]
    info, ladder = dataclasses.replace(film(), cfr_rate=25.0), avc_ladder.LADDER
    raised = rate_aim.scene_zones(info, ladder, parts, spans, 0.0, probes, 95.0, 25.0, 2.0)
    assert raised == ((0, 99, 29.0),), raised  # the calm scene 27 + 2; the hard one at the rung's 25: no zone
    highest = ladder.crf_bounds[1]
    capped = rate_aim.scene_zones(info, ladder, parts, spans, 0.0, probes, 95.0, highest, highest - 23.0)
    assert capped == (), capped  # both at the top of the bounds, the rung's own CRF


@pytest.fixture(scope="module")
def two_scenes(tmp_path_factory):
    """8 s: 4 s of a Mandelbrot zoom (fine detail, moving), cut to 4 s of a calm backdrop."""
    folder = tmp_path_factory.mktemp("scenes")
    hard = make_clip(folder / "hard.mp4", seconds=4, size="640x360", rate=25, scene=ZOOM, preset="veryfast")
    calm = make_clip(folder / "calm.mp4", seconds=4, size="640x360", rate=25, scene=CALM, preset="veryfast")
    joined = folder / "film.mp4"
    graph = "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]"
    ffmpeg("-i", str(hard), "-i", str(calm), "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(joined))  # fmt: skip
    return joined


def test_the_cut_is_found_and_each_scene_gets_its_own_rate(two_scenes, tmp_path):
    ffmpeg_path, info = ffmpeg_exe(), probe(two_scenes)
    assert scenes.cuts(ffmpeg_path, two_scenes, info, (0.0, 8.0), 60.0) == [pytest.approx(4.0, abs=0.05)]
    rungs = ladder_for(info.short_side)
    reference = dataclasses.replace(H264, crf=18.0)
    [aim] = rate_aim.aim(ffmpeg_path, two_scenes, info, avc_ladder.LADDER, reference, rungs, (0.0, 8.0),
                         workdir=tmp_path).values()  # fmt: skip
    assert all(len(p.windows) >= 2 for p in aim.probes), aim  # a window in each scene
    assert aim.zones and {(first, last) for first, last, _ in aim.zones} <= {(0, 99), (100, 199)}, aim

    def crf_at(frame: int) -> float:  # a zone's CRF, else the rung's own
        return next((crf for first, last, crf in aim.zones if first <= frame <= last), aim.crf)

    assert crf_at(150) > crf_at(50), aim  # the calm backdrop needs fewer bits than the zoom for the same quality
    assert rate_aim.crfs_of({"480p": aim}) == {"480p": sorted({aim.crf, *(crf for _, _, crf in aim.zones)})}


def test_the_best_ladders_encode_gives_each_scene_its_rate(tmp_path):
    """The ladder's own run with zones (the first scene's CRF lower than the rung's, the second's higher) against
    the same run at the rung's one CRF: the first segment (0-4 s) takes more bytes, the second (4-8 s) fewer.
    (Silent, a moving pattern in both: the segments' bytes are the picture's.)"""
    source = make_clip(tmp_path / "pattern.mp4", seconds=8, size="640x360", rate=25, audio=False, preset="veryfast")
    info, rungs = probe(source), ladder_for(360)
    zones = {"480p": ((0, 99, 19.0), (100, 199, 27.0))}
    sizes = {}
    for name, given in (("one", {}), ("scenes", zones)):
        out = tmp_path / name
        (out / "avc" / "480p").mkdir(parents=True)
        steps = FilmSteps(info, rungs, avc_ladder.LADDER, rates={"480p": (22.0, 0.9)}, zones=given, audio_filters={})
        ffmpeg(*steps.ladder_pass(ffmpeg_exe(), source, out)[1:])
        sizes[name] = [(out / "avc" / "480p" / f"{n:03d}.m4s").stat().st_size for n in range(2)]
    (hard_one, calm_one), (hard_scenes, calm_scenes) = sizes["one"], sizes["scenes"]
    assert hard_scenes > hard_one and calm_scenes < calm_one, sizes
