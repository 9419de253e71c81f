"""What a source says of itself cannot widen what the workers do (issue 33, item 2), on real FFmpeg output:
metadata cannot pass for the streams' facts, a length the file leaves unsaid or understates bounds every
decode, and a film that reaches the bound fails with a reason instead of being read on."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess

import pytest

from stream_workers.agents import transcode
from stream_workers.app import app
from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaLimits, probe, video_dir

from ..support.clips import understated

SPOOF = "Stream #0:0: Video: h264, yuv420p, 640x360, 25 fps; Duration: 00:00:01.00"


def encode(path, *, size="320x240", seconds=3.0, title=None, piped=False):
    """A real H.264 MKV (written through a pipe: no length in its header, as a live recording has none)."""
    argv = [ffmpeg_exe(), "-y", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={size}:d={seconds}:r=25",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]  # fmt: skip
    if title:
        argv += ["-metadata", f"title={title}"]
    if piped:
        with path.open("wb") as out:
            subprocess.run([*argv, "-f", "matroska", "pipe:1"], stdout=out, check=True)
    else:
        subprocess.run([*argv, str(path)], check=True)
    return path


def test_a_title_cannot_pass_for_the_picture_or_the_length(tmp_path):
    info = probe(encode(tmp_path / "spoof.mkv", size="8192x16", seconds=1, title=SPOOF))
    assert (info.width, info.height) == (8192, 16)  # the real stream's, not the title's 640x360
    assert "8192x16" in MediaLimits().problem(info)


def run_job(monkeypatch, tmp_path, source, video_id: int, **limits):
    media = tmp_path / "media"
    target = video_dir(media, video_id) / "source.mkv"
    target.parent.mkdir(parents=True)
    source.rename(target)
    settings = dataclasses.replace(app.settings, media_root=media, av1_ladder=False, max_attempts=1,
                                   media_limits=MediaLimits(**limits))  # fmt: skip
    monkeypatch.setattr(app, "settings", settings)
    asyncio.run(transcode.handle(events.uploaded(video_id, f"videos/{video_id}/source.mkv")))


def test_an_unsaid_length_past_the_limit_fails_at_the_limit(agent_topics, monkeypatch, tmp_path):
    source = encode(tmp_path / "live.mkv", seconds=8, piped=True)
    assert probe(source).duration is None  # "Duration: N/A"
    run_job(monkeypatch, tmp_path, source, 41, duration=4.0)
    [(_, result)] = agent_topics["processed"].sent
    assert result.status == "failed" and "does not say how long" in result.error, result.error


def test_an_unsaid_length_within_the_limit_is_measured(agent_topics, monkeypatch, tmp_path):
    source = encode(tmp_path / "live.mkv", seconds=3, piped=True)
    run_job(monkeypatch, tmp_path, source, 42, duration=10.0)
    [(_, result)] = agent_topics["processed"].sent
    assert result.status == "ready" and result.duration == pytest.approx(3.0, abs=0.2)


def test_a_header_that_understates_the_length_fails_the_film(agent_topics, monkeypatch, tmp_path):
    """30 s of pictures under a Segment Duration patched to 5 s, a 10 s limit: the probe sees 5 s (within the
    limit); the decode stops at 7 s, and the film fails saying why (before, all 30 s were decoded)."""
    source = understated(encode(tmp_path / "long.mkv", seconds=30), 5.0)
    assert probe(source).duration == pytest.approx(5.0, abs=0.01)
    run_job(monkeypatch, tmp_path, source, 43, duration=10.0)
    [(_, result)] = agent_topics["processed"].sent
    assert result.status == "failed" and "says it lasts 5 s but holds more" in result.error, result.error
