"""The processing pipeline through the real parts: a web process, Faust worker processes, the tansu broker,
PostgreSQL and FFmpeg. Uploads go in over HTTP (and through `videoflix upload`); the HLS output is checked by
decoding it with FFmpeg."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2

from videoflix.media import ffmpeg_exe, parse_probe

from .conftest import PARTITIONS, PASSWORD, VIDEOFLIX

pytestmark = pytest.mark.integration


def decode(path: Path) -> tuple[int, object, float]:
    """Decode a playlist or file completely with FFmpeg, once: (exit status, media facts of what it read,
    seconds of media decoded)."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-f", "null", "-"], capture_output=True, timeout=120
    )
    stderr = result.stderr.decode("utf-8", "replace")
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", stderr)
    seconds = int(times[-1][0]) * 3600 + int(times[-1][1]) * 60 + float(times[-1][2]) if times else 0.0
    return result.returncode, parse_probe(stderr), seconds


def test_cli_upload_is_transcoded_to_playable_hls(pipeline, media_files):
    upload = pipeline.run(
        [
            *VIDEOFLIX,
            "upload",
            str(media_files["hd"]),
            "--title",
            "HD film",
            "--category",
            "Drama",
            "--api",
            pipeline.api,
            "--email",
            "operator@example.com",
        ],
        "cli-upload",
        VIDEOFLIX_PASSWORD=PASSWORD,
    )
    assert upload.proc.wait(240) == 0, upload.output
    assert "upload: 100%" in upload.output and "processing: 100%" in upload.output
    video_id = int(re.search(r"Uploaded as video (\d+)", upload.output).group(1))

    status = pipeline.client().status(video_id)
    assert status["status"] == "ready" and status["progress"] == 100 and status["error"] is None
    assert status["resolutions"] == ["480p", "720p"]  # a 720p source is not upscaled to 1080p
    assert "1080p" in status["skipped_resolutions"]
    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    master = (output / "master.m3u8").read_text()
    assert "480p/index.m3u8" in master and "720p/index.m3u8" in master and "1080p" not in master
    for name, height in (("480p", 480), ("720p", 720)):
        playlist = output / name / "index.m3u8"
        text = playlist.read_text()
        assert "#EXT-X-ENDLIST" in text and "#EXT-X-PLAYLIST-TYPE:VOD" in text
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", text)]
        assert all(d <= 4.1 for d in durations) and sum(durations) == pytest.approx(5.0, abs=0.2)
        assert re.findall(r"^\d{3}\.ts$", text, re.MULTILINE)[0] == "000.ts"
        status_code, facts, seconds = decode(playlist)
        assert status_code == 0 and facts.height == height and facts.has_audio
        assert seconds == pytest.approx(5.0, abs=0.2)
    thumbnail = output / "thumbnail.jpg"
    assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"
    status_code, facts, _ = decode(thumbnail)
    assert status_code == 0 and facts.video_codec == "mjpeg" and facts.height == 360
    folder = output.parent
    assert [p.name for p in folder.iterdir() if p.name.startswith((".work", "hls-"))] == [output.name]


def test_corrupt_file_ends_failed_with_a_reason(pipeline, media_files):
    client = pipeline.client()
    video = client.upload(media_files["corrupt"], {"title": "Broken"})

    status = pipeline.wait_for_status(client, video["id"], {"failed", "ready"}, 120)

    assert status["status"] == "failed"
    assert "could not be decoded" in status["error"]
    assert not list((pipeline.media / "videos" / str(video["id"])).glob(".work-*"))


def test_two_workers_share_a_batch(pipeline, media_files):
    second = pipeline.start_worker()
    second.wait_for(r"\[\^Worker\]: Ready", 180)
    time.sleep(5)  # let the first worker settle into the new assignment
    client = pipeline.client()

    # enough uploads to cover 5 of the 8 partitions: with the partitions split 4/4, both workers get work
    ids, partitions = [], set()
    while len(partitions) < 5:
        video_id = client.upload(media_files["small"], {"title": f"Batch {len(ids)}"})["id"]
        ids.append(video_id)
        partitions.add((murmur2(str(video_id).encode()) & 0x7FFFFFFF) % PARTITIONS)
    for video_id in ids:
        assert pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)["status"] == "ready"

    counts = [{vid: len(re.findall(rf"video {vid} transcoded", w.output)) for vid in ids} for w in pipeline.workers]
    assert all(sum(c[vid] for c in counts) == 1 for vid in ids), counts  # each video transcoded once
    assert all(any(c.values()) for c in counts), counts  # and both workers took part
    for video_id in ids:
        folder = pipeline.media / "videos" / str(video_id)
        assert len(list(folder.glob("hls-*"))) == 1 and not list(folder.glob(".work-*"))


def test_upload_while_the_broker_is_down_is_processed_when_it_returns(pipeline, media_files):
    """Last in the module: the fresh broker has forgotten every topic and offset."""
    client = pipeline.client()
    pipeline.broker.stop()
    try:
        video = client.upload(media_files["small"], {"title": "Uploaded during an outage"})  # 201 all the same
        time.sleep(3)
        assert pipeline.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") >= 1
        assert client.status(video["id"])["status"] == "uploaded"
    finally:
        pipeline.broker.start()  # a fresh, empty broker on the same port

    status = pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 240)
    assert status["status"] == "ready"
    assert pipeline.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
