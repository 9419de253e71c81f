"""How FFmpeg is made to read an uploaded file (one demuxer, local file only) and the limits on what a file may
claim: the pure parts, and one static check that every FFmpeg input in the code goes through the one helper."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest

from stream_workers import av1_ladder, film_parts, loudness
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.containers import CONTAINERS, ObjectURL, ProbeFailed, input_options, sniff_container
from videoflix.core.media import MediaInfo, MediaLimits, ladder_for, parse_probe, probe
from videoflix.core.redaction import redact

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family", sorted(CONTAINERS))
def test_every_family_names_its_demuxer_and_only_the_file_protocol(family):
    argv = input_options(Path("/m/videos/1/source.x"), family)

    assert argv[-2:] == ["-i", "file:/m/videos/1/source.x"]
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-f") + 1] == CONTAINERS[family].demuxer
    assert argv.index("-f") < argv.index("-i")


def test_mov_family_pins_external_references_off():
    assert input_options(Path("s.mp4"), "mp4")[4:6] == ["-enable_drefs", "0"]
    assert "-enable_drefs" not in input_options(Path("s.mkv"), "matroska")  # FFmpeg refuses unknown options


def test_input_seeking_comes_before_the_input():
    argv = input_options(Path("s.mkv"), "matroska", start=60, length=8.5)
    assert argv[-6:] == ["-ss", "60.000", "-t", "8.500", "-i", "file:s.mkv"]


def test_unknown_family_is_refused():
    with pytest.raises(ProbeFailed):
        input_options(Path("s.m3u8"), "hls")
    with pytest.raises(ProbeFailed):
        input_options(Path("s.mp4"), "")


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (b"<!--wide-->" + b" " * 500, "mov"),  # what a DASH manifest can pass as: its demuxer will be MOV's
        (b"G" + b"\n" * 187 + b"G" + b"\n" * 187 + b"G" + b"\n" * 10, "mpeg-ts"),
        (b"#EXTM3U\n#EXTINF:4,\nfile:///etc/passwd\n", None),
        (b"ffconcat version 1.0\nfile /etc/passwd\n", None),
        (b"v=0\nc=IN IP4 127.0.0.1\n", None),
    ],
)
def test_sniffing_maps_to_a_family_or_nothing(head, family):
    assert sniff_container(head) == family


def fake_ffmpeg(tmp_path: Path, reported: str) -> str:
    """An FFmpeg stand-in that reports reading `reported` with one video stream."""
    script = tmp_path / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"Input #0, {reported}, from 'x':\" >&2\n"
        'echo "  Duration: 00:00:02.00, start: 0.000000, bitrate: 1 kb/s" >&2\n'
        'echo "  Stream #0:0: Video: h264, yuv420p, 320x240, 25 fps, 25 tbr" >&2\n'
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_probe_refuses_a_format_other_than_the_family(tmp_path):
    source = tmp_path / "source.mp4"
    source.write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 100)

    with pytest.raises(ProbeFailed, match="claims to be mp4 but reads as dash"):
        probe(source, fake_ffmpeg(tmp_path, "dash"))
    facts = probe(source, fake_ffmpeg(tmp_path, "mov,mp4,m4a,3gp,3g2,mj2"))
    assert (facts.container, facts.format, facts.width, facts.streams) == ("mp4", "mov,mp4,m4a,3gp,3g2,mj2", 320, 1)


def test_probe_refuses_a_file_that_announces_no_family(tmp_path):
    source = tmp_path / "source.mp4"
    source.write_bytes(b"#EXTM3U\n")
    with pytest.raises(ProbeFailed, match="not a video container"):
        probe(source, fake_ffmpeg(tmp_path, "hls"))


def facts(duration=10.0, width=1920, height=1080, fps=25.0, streams=2) -> MediaInfo:
    return MediaInfo(duration, width, height, fps, "h264", True, streams=streams, container="mp4")


@pytest.mark.parametrize(
    ("info", "variable"),
    [
        (facts(duration=3.6e9), "MEDIA_MAX_DURATION"),
        (facts(width=16000, height=240), "MEDIA_MAX_SIZE"),
        (facts(width=4320, height=7681), "MEDIA_MAX_SIZE"),  # portrait: bounded on its long side
        (facts(width=5000, height=5000), "MEDIA_MAX_SIZE"),  # square: beyond the short side
        (facts(fps=1000), "MEDIA_MAX_FPS"),
        (facts(streams=65), "MEDIA_MAX_STREAMS"),
    ],
)
def test_limits_name_the_one_exceeded(info, variable):
    assert variable in MediaLimits().problem(info)


@pytest.mark.parametrize(
    "info",
    [
        facts(duration=12 * 3600),
        facts(width=7680, height=4320),
        facts(width=4320, height=7680),
        facts(fps=240, streams=64),
        facts(duration=None),
    ],
)
def test_limits_allow_what_is_within_them(info):
    assert MediaLimits().problem(info) is None


def test_limits_parse_the_settings():
    limits = MediaLimits.parse("60", "1920x1080", "60", "4")
    assert limits == MediaLimits(duration=60.0, long_side=1920, short_side=1080, fps=60.0, streams=4)
    assert MediaLimits.parse(size="1080x1920") == MediaLimits(long_side=1920, short_side=1080)
    assert MediaLimits.parse(None, "", None, "") == MediaLimits()
    with pytest.raises(ValueError, match="MEDIA_MAX_SIZE"):
        MediaLimits.parse(size="huge")


def test_every_job_command_reads_its_source_through_the_helper(tmp_path):
    info = MediaInfo(120.0, 1280, 720, 25.0, "h264", True, container="matroska")
    rungs = ladder_for(info.short_side)
    source, out = tmp_path / "source.mkv", tmp_path / "out"
    part = film_parts.Part(1, 60.0, 60.0)
    expected = input_options(source, "matroska")
    commands = {
        "single pass": FilmSteps(info, rungs).single_pass("ffmpeg", source, out),
        "part": FilmSteps(info, rungs, H264.at("veryfast")).picture_part("ffmpeg", source, out, part),
        "audio": FilmSteps(info, []).sound_job("ffmpeg", source, out),
        "AV1 part": FilmSteps(info, rungs, av1_ladder.LADDER).picture_part("ffmpeg", source, out, part),
        "loudness": loudness.measure_command("ffmpeg", source, info),
    }
    for name, argv in commands.items():
        assert argv.count("-i") == 1, name
        at = argv.index("-protocol_whitelist")
        assert argv[at : at + 4] == expected[:4], name
        assert argv[argv.index("-i") + 1] == f"file:{source}", name


#: the only places an FFmpeg command may name an input itself: the helper, the muxers that read back the
#: segments and pictures the workers wrote (MPEG-TS, NUT), and the tiling of the preview frames a job wrote
#: (image2), each by its demuxer's name and the file protocol alone
OWN_INPUTS = {
    ("videoflix/core/containers.py", "input_options"),
    ("stream_workers/film_parts.py", "mux_segment"),
    ("stream_workers/fmp4_parts.py", "join_command"),
    ("stream_workers/sheets.py", "_tile_one"),
}


def test_no_ffmpeg_command_names_an_input_but_the_helper():
    found = set()
    for path in [*ROOT.joinpath("videoflix").rglob("*.py"), *ROOT.joinpath("stream_workers").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Constant) and node.value == "-i":
                        found.add((str(path.relative_to(ROOT)), function.name))
    assert found <= OWN_INPUTS, found - OWN_INPUTS
    assert found  # the scan sees the helper itself


def test_probe_reads_rates_in_thousands():
    stderr = (
        "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 1k fps, 1k tbr, 1k tbn"
    )
    assert parse_probe(stderr).fps == 1000.0


def test_web_and_workers_read_the_same_limits(monkeypatch):
    from stream_workers.settings import WorkerSettings
    from videoflix.config import build_settings

    for name, value in {"DURATION": "60", "SIZE": "1080x1920", "FPS": "50", "STREAMS": "4"}.items():
        monkeypatch.setenv(f"MEDIA_MAX_{name}", value)
    expected = MediaLimits(duration=60.0, long_side=1920, short_side=1080, fps=50.0, streams=4)

    assert WorkerSettings.from_environment().media_limits == expected
    ini = {"videoflix.media_max_duration": "60", "videoflix.media_max_size": "1080x1920",
           "videoflix.media_max_fps": "50", "videoflix.media_max_streams": "4"}  # fmt: skip
    assert build_settings(ini).media_limits == expected


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("Error opening input file http://store:8333/videoflix/videos/7/source.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=videoflix%2F20261206&X-Amz-Signature=0d215a82.", "source.mp4"),
        ("[https @ 0x55] Opening 'https://s3.internal.example/b/videos/7/source.mkv?token=abc' for reading",
         "source.mkv"),
        ("Could not open '/srv/videoflix/media/videos/7/hls-ab12/480p/003.ts' for writing", "003.ts"),
        ("request failed: Signature=abcdef&Expires=123 was refused", "refused"),
    ],
)  # fmt: skip
def test_redact_names_a_file_by_its_last_part_and_drops_every_signature(said, kept):
    shown = redact(said)
    assert kept in shown
    for secret in ("X-Amz-Signature=0", "Credential=v", "abcdef", "token=abc", "store:8333", "s3.internal", "/srv"):
        assert secret not in shown, (secret, shown)
    assert "abc" not in repr(ObjectURL("https://s3.internal.example/b/k?X-Amz-Signature=abc"))
