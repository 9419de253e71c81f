"""The further ladders (stream_workers/ladder_registry.py): each is a module of its own and its line in the
registry; the web tier serves exactly their folders (videoflix.core.ladders); the best H.264 ladder and AV1 are
on and HEVC off unless the
operator says otherwise, and a film whose sound has several tracks gets neither (hls.js cannot switch an fMP4
variant to a TS audio track)."""

from __future__ import annotations

import pytest

from stream_workers import av1_ladder, hevc_ladder, ladder_registry
from stream_workers.settings import WorkerSettings
from videoflix.core import ladders as core_ladders
from videoflix.core.environment import VARIABLES
from videoflix.core.media import AudioStream

from ..support.media import film


def test_the_web_tier_serves_the_folders_of_the_registered_ladders():
    assert tuple(ladder_registry.FURTHER) == core_ladders.FURTHER
    assert [ladder.folder for ladder in ladder_registry.FURTHER.values()] == list(core_ladders.FURTHER)


@pytest.mark.parametrize(
    ("environment", "made"),
    [({}, ["avc", "av1"]), ({"HEVC_LADDER": "on"}, ["avc", "av1", "hevc"]),
     ({"AV1_LADDER": "off", "AVC_LADDER": "off", "HEVC_LADDER": "on"}, ["hevc"]),
     ({"AV1_LADDER": "off", "AVC_LADDER": "off"}, [])],
)  # fmt: skip
def test_which_ladders_are_made_is_the_operators_choice(monkeypatch, tmp_path, environment, made):
    monkeypatch.chdir(tmp_path)  # no .env
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = WorkerSettings.from_environment()
    assert [ladder.name for ladder in ladder_registry.enabled(settings)] == made
    one_track = film(AudioStream(0, "eng", "stereo", True))
    assert [ladder.name for ladder in ladder_registry.wanted(one_track, settings)] == made
    dubbed = film(AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "stereo"))
    assert ladder_registry.wanted(dubbed, settings) == []


def test_a_verdict_is_known_by_the_ladders_name_in_every_rendition():
    assert ladder_registry.with_verdict([{"name": "480p", "av1": {}}, {"name": "720p", "av1": {}}]) == {"av1"}
    assert ladder_registry.with_verdict([{"name": "480p", "av1": {}, "hevc": {}}]) == {"av1", "hevc"}
    assert ladder_registry.with_verdict([{"name": "480p", "av1": {}}, {"name": "720p"}]) == set()
    assert ladder_registry.with_verdict([]) == set()


def test_a_ladder_is_its_value_alone():
    """What differs between AV1 and HEVC is data: the encoder, its options and tag, its rate control."""
    av1, hevc = av1_ladder.LADDER, hevc_ladder.LADDER
    assert (av1.codec, hevc.codec) == ("libsvtav1", "libx265") and hevc.tag == "hvc1" and av1.tag is None
    assert av1.container == hevc.container == "fmp4" and av1.niceness == hevc.niceness > 0
