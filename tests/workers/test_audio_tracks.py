"""The master's audio group and the alternate tracks' FFmpeg outputs (stream_workers.audio_tracks), without
FFmpeg; tests/integration/test_audio_tracks.py runs them through the real parts."""

from __future__ import annotations

from pathlib import Path

from stream_workers import audio_tracks, film_parts, hls, hls_output
from stream_workers.film_steps import FilmSteps
from videoflix.core.media import AudioStream, ladder_for

from ..support.media import film

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=1195680,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
480p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3195680,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
"""


def test_a_film_with_one_track_keeps_its_master_as_it_was():
    single = film(AudioStream(0, "eng", "stereo", True))
    assert single.alternate_audio == () and audio_tracks.folders(single) == []
    assert audio_tracks.with_group(MASTER, single) == MASTER
    assert audio_tracks.with_group(MASTER, film()) == MASTER  # no sound at all


def test_the_group_names_every_track_the_default_without_a_uri():
    info = film(
        AudioStream(0, "eng", "stereo"), AudioStream(1, "ger", "5.1", True), AudioStream(2, "", "mono"),
        AudioStream(3, "eng", "stereo", title='Director\'s "cut" commentary'), AudioStream(4, "eng", "stereo"),
    )  # fmt: skip
    assert audio_tracks.folders(info) == ["audio/0", "audio/2", "audio/3", "audio/4"]
    grouped = audio_tracks.with_group(MASTER, info)
    lines = grouped.splitlines()
    media = [line for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert media == [  # the default first; names unique; an untagged track without LANGUAGE
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Deutsch",LANGUAGE="de",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/0/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio 3",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",'
        'URI="audio/2/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Director\'s \'cut\' commentary",LANGUAGE="en",DEFAULT=NO,'
        'AUTOSELECT=YES,CHANNELS="2",URI="audio/3/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English 2",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/4/index.m3u8"',
    ]
    assert lines.index(media[-1]) < next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF"))
    assert [line.endswith(',AUDIO="audio"') for line in lines if line.startswith("#EXT-X-STREAM-INF")] == [True] * 2
    assert audio_tracks.with_group(grouped, info) == grouped  # once
    assert [r["bandwidth"] for r in hls_output.renditions_in(grouped, ladder_for(720))] == [1195680, 3195680]


def test_each_alternate_is_its_own_audio_only_output_on_the_renditions_clock(tmp_path):
    info = film(AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "5.1"))
    argv = FilmSteps(info, ladder_for(720), audio_filters={0: "loudnorm=I=-16", 1: "loudnorm=I=-17"}).single_pass(
        "ffmpeg", tmp_path / "in.mp4", tmp_path
    )
    at = argv.index(str(tmp_path / "audio/1/index.m3u8"))
    alternate = argv[argv.index("0:a:1") - 1 : at + 1]
    assert alternate[:4] == ["-map", "0:a:1", "-af", "loudnorm=I=-17"]  # its own measurement
    assert "-ac" in alternate and "2" in alternate and "-vn" not in alternate  # stereo AAC, sound only
    offset = ["-output_ts_offset", f"{hls.TS_OFFSET:.3f}"]
    assert _has(alternate, offset) and _has(argv[: argv.index("-master_pl_name")], offset)  # the same clock
    assert str(tmp_path / "audio/1/%03d.ts") in alternate
    assert "loudnorm=I=-16" in argv[argv.index("-filter_complex") + 1]  # the default track, muxed

    job = FilmSteps(info, [], audio_filters={1: "x=1"}).sound_job("ffmpeg", tmp_path / "in.mp4", tmp_path)
    alternate = job[job.index("0:a:1") - 1 :]
    assert alternate[:4] == ["-map", "0:a:1", "-af", f"{film_parts.FILL_GAPS},x=1"]
    # on the muxed segments' clock, which joining a part's picture and sound delays (tests/workers/test_film_parts.py)
    assert _has(alternate, ["-output_ts_offset", f"{hls.TS_OFFSET + hls.MPEGTS_DELAY:.3f}"])


def test_prepare_makes_the_folders_the_muxer_does_not(tmp_path: Path):
    info = film(AudioStream(0, "eng", "stereo", True), AudioStream(1, "ger", "5.1"), AudioStream(2, "fre", "mono"))
    audio_tracks.make_folders(tmp_path, info)
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == ["1", "2"]


def _has(argv: list[str], part: list[str]) -> bool:
    return any(argv[i : i + len(part)] == part for i in range(len(argv)))
