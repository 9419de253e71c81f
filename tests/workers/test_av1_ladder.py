"""The AV1 ladder's FFmpeg output and its place in the master (stream_workers.av1_ladder), without FFmpeg;
tests/integration/test_av1.py runs it through the real parts, Chromium and hls.js included."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from stream_workers import audio_tracks, av1_ladder, avc_ladder, hls_output, ladder_registry, ladder_verdict
from stream_workers.film_steps import FilmSteps
from stream_workers.quality import Score
from stream_workers.settings import WorkerSettings, film_grain, switch
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import AudioStream, MediaInfo, ladder_for, probe

from ..support.clips import make_clip
from ..support.media import film

LADDER = av1_ladder.LADDER

H264 = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=1195680,AVERAGE-BANDWIDTH=1100000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"
480p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=3195680,AVERAGE-BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8

"""
AV1 = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=380000,RESOLUTION=854x480,CODECS="av01.0.04M.08,mp4a.40.2"
480p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=850000,RESOLUTION=1280x720,CODECS="av01.0.05M.08,mp4a.40.2"
720p/index.m3u8
"""


def test_the_av1_variants_follow_the_h264_ones_once():
    merged = ladder_verdict.with_variants(LADDER, H264, AV1, ["480p", "720p"])
    lines = [line for line in merged.splitlines() if line]
    assert [line for line in lines if not line.startswith("#")] == [
        "480p/index.m3u8", "720p/index.m3u8", "av1/480p/index.m3u8", "av1/720p/index.m3u8",
    ]  # fmt: skip
    assert lines[-2].endswith('CODECS="av01.0.05M.08,mp4a.40.2"') and lines[-1] == "av1/720p/index.m3u8"
    assert ladder_verdict.with_variants(LADDER, merged, AV1, ["480p", "720p"]) == merged  # once
    # and taken out again (an AV1 pass that did not report may have listed them: it runs again from the start)
    assert (
        ladder_verdict.without_variants(LADDER, merged)
        == ladder_verdict.without_variants(LADDER, H264)
        == H264.rstrip("\n") + "\n"
    )
    # the H.264 renditions the status names are still read from it (the AV1 ones are not among the rungs)
    assert [r["bandwidth"] for r in hls_output.renditions_in(merged, ladder_for(720))] == [1195680, 3195680]
    # a film with several audio tracks: the AV1 variants name the audio group too
    info = film(AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "stereo"))
    grouped = audio_tracks.with_group(merged, info)
    assert [line.endswith('AUDIO="audio"') for line in grouped.splitlines() if "STREAM-INF" in line] == [True] * 4
    # and when the group came first (FFmpeg did not rewrite the master at its end), the AV1 lines get it too
    late = audio_tracks.with_group(
        ladder_verdict.with_variants(LADDER, audio_tracks.with_group(H264, info), AV1, ["480p", "720p"]),
        info,
    )
    assert [line.endswith('AUDIO="audio"') for line in late.splitlines() if "STREAM-INF" in line] == [True] * 4
    assert late.count("#EXT-X-MEDIA:") == 2 and audio_tracks.with_group(late, info) == late


def test_the_av1_ladder_is_listed_when_every_rendition_is_as_good_as_h264_and_smaller(tmp_path):
    rungs = ladder_for(720)
    renditions = hls_output.renditions_in(H264, rungs)
    fair = {"480p": Score(95.0, 90.0, 30), "av1/480p": Score(94.2, 88.0, 30),  # within a point
            "720p": Score(97.0, 95.0, 30), "av1/720p": Score(97.1, 96.0, 30)}  # fmt: skip
    twins = ladder_verdict.decide(LADDER, rungs, H264, AV1, fair, 80.0)
    assert twins["480p"] == {"bandwidth": 400000, "average_bandwidth": 380000, "fit": True, "listed": True,
                             "quality": fair["av1/480p"].as_json(80.0)}  # fmt: skip
    assert twins["720p"]["listed"] and twins["720p"]["average_bandwidth"] == 850000
    # one rung 1.5 points worse: no AV1 at all (hls.js keeps to one codec: a partial ladder would trap)
    worse = {**fair, "av1/720p": Score(95.5, 80.0, 30)}
    twins = ladder_verdict.decide(LADDER, rungs, H264, AV1, worse, 80.0)
    assert [(t["fit"], t["listed"]) for t in twins.values()] == [(True, False), (False, False)]
    # as good but not smaller on average: not worth a second ladder
    costly = H264.replace("AVERAGE-BANDWIDTH=1100000", "AVERAGE-BANDWIDTH=300000")
    assert not ladder_verdict.decide(LADDER, rungs, costly, AV1, fair, 80.0)["480p"]["fit"]
    # not measured (QUALITY_SAMPLES=0): by the bitrate alone; a measurement that failed, or half of one: none
    assert all(t["listed"] for t in ladder_verdict.decide(LADDER, rungs, H264, AV1, {}, 80.0, measuring=False).values())
    assert not any(t["listed"] for t in ladder_verdict.decide(LADDER, rungs, H264, AV1, {}, 80.0).values())
    assert not ladder_verdict.decide(LADDER, rungs, H264, AV1, {"480p": fair["480p"]}, 80.0)["480p"]["listed"]

    # settled in an output: the master lists the AV1 ladder, or its files go; the status shows the twins
    for listed, scores in ((False, worse), (True, fair)):
        for folder in ("480p", "720p", "av1/480p", "av1/720p"):
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "master.m3u8").write_text(H264)
        (tmp_path / ladder_verdict.master_of(LADDER)).write_text(AV1)
        settled, kept = ladder_verdict.choose_listed(LADDER, tmp_path, rungs, renditions, scores, 80.0)
        master = (tmp_path / "master.m3u8").read_text()
        assert kept == (["av1/480p", "av1/720p"] if listed else []), kept
        assert ("av1/480p/index.m3u8" in master) is listed and ("av1/720p/index.m3u8" in master) is listed
        assert (tmp_path / "av1" / "720p").is_dir() is listed and (tmp_path / "av1" / "480p").is_dir() is listed
        assert [r["av1"]["listed"] for r in settled] == [listed, listed] and settled[0]["bandwidth"] == 1195680


def test_the_av1_pass_reads_the_source_as_the_h264_one_and_normalizes_its_sound(tmp_path):
    rungs = ladder_for(720)
    info = film(AudioStream(0, "eng", "stereo", True))
    source = tmp_path / "in.mp4"
    h264 = FilmSteps(info, rungs, audio_filters={0: "volume=3dB"}).single_pass("ffmpeg", source, tmp_path)
    extra = FilmSteps(info, rungs, av1_ladder.LADDER, audio_filters={0: "volume=3dB"}).ladder_pass(
        "ffmpeg", source, tmp_path
    )
    assert "libsvtav1" not in h264  # its own run: the H.264 ladder is not held to SVT-AV1's pace
    graph, h264_graph = extra[extra.index("-filter_complex") + 1], h264[h264.index("-filter_complex") + 1]
    # the same pictures (scaled per rung as the H.264 ladder's) and the same sound, filtered once, a copy each
    pictures = h264_graph.split(";[st]")[0].replace("split=3", "split=2").replace("[st]", "")
    assert graph == pictures + ";[0:a:0]volume=3dB,asplit=2[a0][a1]", (graph, h264_graph)
    # the film's file alone, read as the single pass reads it (the one input helper: no other protocol)
    assert extra[: extra.index("-filter_complex")] == h264[: h264.index("-filter_complex")] and extra.count("-i") == 1
    maps = [extra[i + 1] for i, arg in enumerate(extra) if arg == "-map"]
    assert maps == ["[v0]", "[a0]", "[v1]", "[a1]"]
    caps = [extra[i + 1] for i, arg in enumerate(extra) if arg.startswith("-maxrate:v:")]
    assert caps == [f"{int(r.video_kbps * av1_ladder.CAP)}k" for r in rungs]
    top = ladder_for(1080)[-1]  # a rung of its own cap: SVT-AV1's lead narrows at 1080p
    tall = FilmSteps(film(), [top], av1_ladder.LADDER).ladder_pass("ffmpeg", source, tmp_path)
    assert tall[tall.index("-maxrate:v:0") + 1] == f"{int(5000 * av1_ladder.CAPS['1080p'])}k" != f"{int(5000 * 0.6)}k"
    assert extra[extra.index("-c:v") + 1] == "libsvtav1" and extra[extra.index("-hls_segment_type") + 1] == "fmp4"
    assert extra[-1] == str(tmp_path / "av1" / "%v" / "index.m3u8")
    # unfiltered sound is mapped from the source; a film without sound maps none
    assert "0:a:0" in FilmSteps(info, rungs, av1_ladder.LADDER).ladder_pass("ffmpeg", source, tmp_path)
    mute = film()
    silent = FilmSteps(mute, rungs, av1_ladder.LADDER).ladder_pass("ffmpeg", source, tmp_path)
    assert [silent[i + 1] for i, arg in enumerate(silent) if arg == "-map"] == ["[v0]", "[v1]"]
    assert "-c:a" not in silent and "v:0,name:480p v:1,name:720p" in silent


def test_playlists_name_their_init_segment_for_the_store():
    playlist = '#EXTM3U\n#EXT-X-MAP:URI="init_1.mp4"\n#EXTINF:4.0,\n000.m4s\n#EXTINF:2.0,\n001.m4s\n#EXT-X-ENDLIST\n'
    assert hls_output.media_files(playlist) == ["init_1.mp4", "000.m4s", "001.m4s"]
    assert [hls_output.MEDIA_TYPES[name[name.rindex(".") :]] for name in hls_output.media_files(playlist)] == [
        "video/mp4", "video/iso.segment", "video/iso.segment",
    ]  # fmt: skip


def test_a_film_with_several_audio_tracks_or_a_tiny_picture_keeps_h264_alone():
    assert ladder_verdict.wanted(film(AudioStream(0, "eng", "stereo", True))) and ladder_verdict.wanted(film())
    assert not ladder_verdict.wanted(film(AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "stereo")))
    tiny = MediaInfo(2.0, 1, 1, 25.0, "h264", False, container="mp4")  # SVT-AV1 fails on its 2x2 rendition
    assert not ladder_verdict.wanted(tiny)
    assert ladder_verdict.wanted(MediaInfo(2.0, 176, 144, 25.0, "h264", False, container="mp4"))  # QCIF


def test_a_film_longer_than_av1_max_seconds_keeps_h264_alone():
    two_seconds = MediaInfo(2.0, 640, 360, 25.0, "h264", False, container="mp4")
    assert ladder_verdict.wanted(two_seconds, 2.0) and not ladder_verdict.wanted(two_seconds, 1.9)
    assert ladder_verdict.wanted(two_seconds)  # (no bound: every film made in one pass)


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("OFF", False), (" yes ", True), ("0", False)])
def test_the_av1_ladder_setting(value, expected):
    assert switch("AV1_LADDER", value) is expected


def test_a_bad_av1_ladder_setting_is_refused():
    with pytest.raises(ValueError, match="AV1_LADDER must be on or off"):
        switch("AV1_LADDER", "sometimes")


@pytest.mark.parametrize(("value", "level"), [("", 0), ("off", 0), ("8", 8), ("50", 50)])
def test_film_grain_synthesis_is_the_operators_choice_and_off_by_default(value, level, tmp_path):
    """AV1_FILM_GRAIN: off, or SVT-AV1's level (1-50) added to the AV1 ladder as every worker makes it; the
    encode with it runs (a real SVT-AV1 run on a second of film)."""
    assert film_grain(value) == level
    settings = dataclasses.replace(WorkerSettings.from_environment(), av1_film_grain=level)
    made = ladder_registry.ladder("av1", settings)
    params = made.options[made.options.index("-svtav1-params") + 1]
    assert params.startswith("force-key-frames=1:scd=0") and ("film-grain=" in params) == bool(level), params
    assert ladder_registry.ladder("avc", settings).options == avc_ladder.LADDER.options  # (AV1's alone)
    if level == 8:
        source = make_clip(tmp_path / "grain.mp4", seconds=1, size="320x240")
        info = probe(source)
        rungs = ladder_for(info.short_side)
        ladder_verdict.make_folders(made, tmp_path / "out", rungs)
        argv = FilmSteps(info, rungs, made, audio_filters={}).ladder_pass(ffmpeg_exe(), source, tmp_path / "out")
        assert "force-key-frames=1:scd=0:film-grain=8:film-grain-denoise=1" in argv
        subprocess.run(argv, check=True, capture_output=True, timeout=120)
        assert (tmp_path / "out" / "av1" / "480p" / "000.m4s").stat().st_size > 0


@pytest.mark.parametrize("value", ["51", "-1", "lots", "8.5"])
def test_a_bad_film_grain_level_is_refused_saying_which(value):
    with pytest.raises(ValueError, match="AV1_FILM_GRAIN must be off or a level from 1 to 50"):
        film_grain(value)
