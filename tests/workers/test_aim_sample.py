"""What the quality-aimed rate control samples (stream_workers/aim_sample.py): the spread windows, a window before
each cut and at the start, each frame weighed by the seconds of film it stands for; then on real FFmpeg a film
whose hard seconds lie just before a cut, where the spread windows do not fall: the aim's probes see them."""

from __future__ import annotations

import dataclasses

import pytest

from stream_workers import aim_sample, quality, rate_aim, scenes
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

from ..support.clips import CALM, ZOOM, ffmpeg, make_clip


def test_a_window_ends_at_each_cut_and_one_starts_the_stretch_unless_spread_ones_cover_it():
    parts = [(0.0, 8.0), (8.0, 10.0), (10.0, 18.0)]
    assert scenes.before_cuts(parts, 100.0, 1.0) == [(100.0, 1.0), (107.0, 1.0), (109.0, 1.0)]
    # covered for more than half by a spread window: left out; for less: kept
    assert scenes.before_cuts(parts, 0.0, 1.0, [(6.8, 1.0), (8.3, 1.0)]) == [(0.0, 1.0), (9.0, 1.0)]
    assert scenes.before_cuts([(0.0, 0.5), (0.5, 9.0)], 0.0, 1.0) == [(0.0, 0.5)]  # the start's and the cut's: one
    assert scenes.before_cuts([], 0.0, 1.0) == []


def test_each_frame_stands_for_the_seconds_of_film_its_window_does():
    spread = aim_sample.windows(0.0, 18.0, 0.05)  # six 1 s windows: [1, 2], [4, 5] … [16, 17]
    sample = aim_sample.Sample.of(spread, [(0.0, 8.0), (8.0, 10.0), (10.0, 18.0)], (0.0, 18.0))
    # the start and the second before the cut at 10 s (the one before 8 s is the spread window [7, 8])
    assert [span for span, cut in zip(sample.spans, sample.at_cut, strict=True) if cut] == [(0.0, 1.0), (9.0, 1.0)]
    assert [span for span, cut in zip(sample.spans, sample.at_cut, strict=True) if not cut] == spread
    assert sample.seconds == 8.0
    # a spread second stands for (18 - 2) / 6 of the film, a second at a cut for itself
    weights = dict(zip(sample.at_cut, sample.weights, strict=False))  # (one weight for each kind)
    assert weights == {False: pytest.approx(16 / 6), True: 1.0} and len(set(sample.weights)) == 2


def test_the_weighed_score_is_the_films_where_the_samples_crowd_the_cuts():
    sample = aim_sample.Sample(((0.0, 1.0), (5.0, 1.0)), (False, True), (9.0, 1.0))  # 9 s of calm, 1 s at a cut
    frames = [96.0] * 10 + [80.0] * 10
    scored = sample.score(frames)
    assert scored.mean == pytest.approx((96.0 * 9 + 80.0) / 10)  # not the sample's plain 88
    assert scored.p5 == 80.0  # the cut's tenth of the film holds its worst 5 %
    even = aim_sample.Sample(sample.spans, sample.at_cut, (1.0, 1.0))
    plain = quality.score(frames)
    assert (even.score(frames).mean, even.score(frames).p5) == (plain.mean, plain.p5)
    assert sample.means(frames) == [96.0, 80.0]  # each window's own mean: a scene is rated on all of its own


@pytest.fixture(scope="module")
def hard_before_a_cut(tmp_path_factory):
    """18 s: calm, 2 s of a Mandelbrot zoom at 8-10 s, calm again; the spread windows fall at 1-2, 4-5 … 16-17 s,
    none in the zoom."""
    folder = tmp_path_factory.mktemp("cut")
    pieces = []
    for name, seconds, scene in (("a", 8, CALM), ("zoom", 2, ZOOM), ("b", 8, CALM)):
        pieces.append(make_clip(folder / f"{name}.mp4", seconds=seconds, size="640x360", rate=25, scene=scene,
                                audio=False, preset="veryfast"))  # fmt: skip
    joined = folder / "film.mp4"
    inputs = [arg for piece in pieces for arg in ("-i", str(piece))]
    ffmpeg(*inputs, "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]",
           "-c:v", "libx264", "-preset", "veryfast", str(joined))  # fmt: skip
    return joined


def test_the_aim_sees_the_hard_seconds_before_a_cut(hard_before_a_cut, tmp_path, monkeypatch):
    """The same aim with and without the windows at the cuts (one rung, the fixed ladder's encoder): with them
    the probes' 5th percentile shows the zoom the spread windows miss, so the rung gets a lower CRF."""
    path, info = ffmpeg_exe(), probe(hard_before_a_cut)
    rung = ladder_for(info.short_side)[:1]
    ladder = dataclasses.replace(H264, crf=26.0)
    reference = dataclasses.replace(H264, crf=20.0)

    def aimed():
        [aim] = rate_aim.aim(path, hard_before_a_cut, info, ladder, reference, rung, (0.0, 18.0),
                             workdir=tmp_path).values()  # fmt: skip
        return aim

    with_cuts = aimed()
    monkeypatch.setattr(scenes, "before_cuts", lambda *args: [])
    without = aimed()
    assert min(p.p5 for p in with_cuts.probes) < min(p.p5 for p in without.probes) - 1.0, (with_cuts, without)
    assert with_cuts.crf < without.crf, (with_cuts, without)
