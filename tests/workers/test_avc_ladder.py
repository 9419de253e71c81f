"""The best H.264 ladder (stream_workers/avc_ladder.py), the fast one's second stage: its place in the master
(it replaces the fast H.264 variants instead of joining them, and gives them back when a dead pass is run
again), the other ladders still judged against the fast renditions, and the operator's settings; without
FFmpeg here (tests/workers/test_transcode_agent.py and tests/integration/test_best_ladder.py make it)."""

from __future__ import annotations

import pytest

from stream_workers import av1_ladder, avc_ladder, hls_output, ladder_registry, ladder_verdict
from stream_workers.quality import Score
from stream_workers.settings import WorkerSettings
from videoflix.core.environment import VARIABLES
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import ladder_for

AVC, AV1 = avc_ladder.LADDER, av1_ladder.LADDER

FAST = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=1195680,AVERAGE-BANDWIDTH=1100000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"
480p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3195680,AVERAGE-BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
"""
BEST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"
480p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2400000,AVERAGE-BANDWIDTH=2200000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
"""
AV1_VARIANTS = BEST.replace("avc1.64001e", "av01.0.04M.08").replace("avc1.64001f", "av01.0.05M.08")
AV1_VARIANTS = AV1_VARIANTS.replace("AVERAGE-BANDWIDTH=800000", "AVERAGE-BANDWIDTH=700000")


def uris(master: str) -> list[str]:
    return [line for line in master.splitlines() if line and not line.startswith("#")]


def test_the_best_ladder_takes_the_fast_variants_place_once_and_gives_it_back():
    both = ladder_verdict.with_variants(AV1, FAST, AV1_VARIANTS, ["480p", "720p"])
    best = ladder_verdict.with_variants(AVC, both, BEST, ["480p", "720p"])
    assert uris(best) == ["avc/480p/index.m3u8", "avc/720p/index.m3u8", "av1/480p/index.m3u8", "av1/720p/index.m3u8"]
    assert best.splitlines()[:2] == FAST.splitlines()[:2]  # the header stays
    assert 'AVERAGE-BANDWIDTH=800000,RESOLUTION=854x480,CODECS="avc1.64001e' in best.splitlines()[2]
    assert ladder_verdict.with_variants(AVC, best, BEST, ["480p", "720p"]) == best  # once
    # AV1 listed after the replacement joins after the best ladder's variants
    late = ladder_verdict.with_variants(AV1, ladder_verdict.with_variants(AVC, FAST, BEST, ["480p"]), AV1_VARIANTS,
                                        ["480p"])  # fmt: skip
    assert uris(late) == ["avc/480p/index.m3u8", "av1/480p/index.m3u8"]
    # a dead pass run again: its variants go and the fast ones come back in their place, from the fast master
    assert ladder_verdict.without_variants(AVC, best, FAST) == both
    assert uris(ladder_verdict.without_variants(AVC, best)) == ["av1/480p/index.m3u8", "av1/720p/index.m3u8"]
    assert ladder_verdict.without_variants(AVC, both, FAST) == both  # never listed: nothing to give back
    assert ladder_verdict.without_variants(AV1, best, FAST) == ladder_verdict.with_variants(
        AVC, FAST, BEST, ["480p", "720p"]
    )


def write_output(folder, ladder, variants):
    for name in ("480p", "720p", *ladder.folders(ladder_for(720))):
        (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / ladder_verdict.master_of(ladder)).write_text(variants)


def test_once_the_best_ladder_is_listed_av1_is_still_judged_against_the_fast_renditions(tmp_path):
    """The verdict reads the fast renditions' average bitrates from the fast master kept beside the film's: the
    master no longer names them. Without it, AV1 (smaller than the fast ladder) would be found not smaller."""
    rungs = ladder_for(720)
    renditions = hls_output.renditions_in(FAST, rungs)
    scores = {"480p": Score(95.0, 90.0, 30), "720p": Score(97.0, 95.0, 30)}
    twins = {f"{folder}/{rung}": Score(96.0, 91.0, 30) for folder in ("avc", "av1") for rung in ("480p", "720p")}
    (tmp_path / "master.m3u8").write_text(FAST)
    write_output(tmp_path, AVC, BEST)
    settled, kept = ladder_verdict.choose_listed(AVC, tmp_path, rungs, renditions, {**scores, **twins}, 80.0)
    assert kept == ["avc/480p", "avc/720p"] and all(r["avc"]["listed"] for r in settled)
    assert (tmp_path / FAST_MASTER).read_text() == FAST
    assert uris((tmp_path / "master.m3u8").read_text()) == ["avc/480p/index.m3u8", "avc/720p/index.m3u8"]

    write_output(tmp_path, AV1, AV1_VARIANTS)
    settled, kept = ladder_verdict.choose_listed(AV1, tmp_path, rungs, settled, {**scores, **twins}, 80.0)
    assert kept == ["av1/480p", "av1/720p"] and [r["av1"]["fit"] for r in settled] == [True, True]
    assert [r["avc"]["listed"] for r in settled] == [True, True]  # the earlier verdict kept
    assert uris((tmp_path / "master.m3u8").read_text())[2:] == ["av1/480p/index.m3u8", "av1/720p/index.m3u8"]
    assert (tmp_path / FAST_MASTER).read_text() == FAST  # written once


def test_a_best_ladder_that_does_not_hold_the_fast_quality_leaves_the_fast_one_listed(tmp_path):
    rungs = ladder_for(720)
    scores = {"480p": Score(95.0, 90.0, 30), "720p": Score(97.0, 95.0, 30), "avc/480p": Score(94.5, 89.0, 30),
              "avc/720p": Score(95.5, 93.0, 30)}  # fmt: skip
    (tmp_path / "master.m3u8").write_text(FAST)
    write_output(tmp_path, AVC, BEST)
    settled, kept = ladder_verdict.choose_listed(AVC, tmp_path, rungs, hls_output.renditions_in(FAST, rungs),
                                                 scores, 80.0)  # fmt: skip
    assert kept == [] and [(r["avc"]["fit"], r["avc"]["listed"]) for r in settled] == [(True, False), (False, False)]
    assert (tmp_path / "master.m3u8").read_text() == FAST and not (tmp_path / FAST_MASTER).exists()
    assert not (tmp_path / "avc").exists()


def settings_from(monkeypatch, tmp_path, **environment: str) -> WorkerSettings:
    monkeypatch.chdir(tmp_path)  # no .env
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return WorkerSettings.from_environment()


def test_the_best_ladder_is_on_by_default_at_x264_slow_and_its_speed_is_the_operators_choice(monkeypatch, tmp_path):
    default = settings_from(monkeypatch, tmp_path)
    [best, av1] = ladder_registry.enabled(default)
    assert (best.name, best.codec, best.preset, best.replaces, av1.name) == ("avc", "libx264", "slow", True, "av1")
    assert best.container == "fmp4" and best.cap == 0.9 and best.crf_bounds[1] > best.crf  # the aim may save bytes
    medium = settings_from(monkeypatch, tmp_path, AVC_PRESET="Medium")
    assert ladder_registry.ladder("avc", medium).preset == "medium"
    assert ladder_registry.ladder("av1", medium) == AV1  # (its speed is its module's)
    off = settings_from(monkeypatch, tmp_path, AVC_LADDER="off")
    assert [ladder.name for ladder in ladder_registry.enabled(off)] == ["av1"]
    with pytest.raises(ValueError, match="AVC_PRESET must be one of ultrafast"):
        settings_from(monkeypatch, tmp_path, AVC_PRESET="sluggish")
