"""The processing pipeline through the real parts: a web process, Faust worker processes, the tansu broker,
PostgreSQL and FFmpeg. Uploads go in over HTTP (and through `videoflix upload`); the HLS output is checked by
decoding it with FFmpeg."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from stream_workers import loudness
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import parse_probe

from ..support.accounts import PASSWORD
from ..support.clips import heard, make_clip, make_subtitled
from ..support.stack import VIDEOFLIX, http

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
        level = heard(playlist)  # the worker measured the sound and brought it to one loudness
        assert abs(level.integrated - loudness.TARGET_I) <= 1.0 and level.true_peak <= -1.0, level
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


def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.3)
    return value


def test_a_video_deleted_while_it_is_transcoded_leaves_nothing(pipeline, media_files):
    """DELETE during the job: the row goes at once, the worker stops FFmpeg at its next progress check and
    removes what it wrote; no result is recorded and no file of the video remains."""
    client = pipeline.client()
    video_id = client.upload(media_files["long"], {"title": "Deleted mid-job"})["id"]
    until(lambda: client.status(video_id)["progress"] > 0, 120, "the job reports progress")

    client.call("DELETE", f"/video/{video_id}/", headers={"X-CSRFToken": client.csrf()})

    notice = f"video {video_id} was deleted while it was processed"
    until(lambda: any(notice in w.output for w in pipeline.workers), 60, "the worker discards the job")
    assert not (pipeline.media / "videos" / str(video_id)).exists()
    assert pipeline.scalar("SELECT count(*) FROM videos WHERE id = :id", id=video_id) == 0
    assert not any(f"video {video_id} transcoded" in w.output for w in pipeline.workers)
    client.call("DELETE", f"/video/{video_id}/", headers={"X-CSRFToken": client.csrf()})  # again: still fine


def test_a_failed_video_retried_after_its_cause_is_fixed_becomes_ready(pipeline, media_files):
    """Retry re-queues through the outbox and the workers: here the stored source was damaged, fails, is
    replaced by an intact copy (as after a storage repair), and the retried video is ready."""
    client = pipeline.client()
    video_id = client.upload(media_files["corrupt"], {"title": "Second chance"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)["status"] == "failed"
    source = pipeline.media / pipeline.scalar("SELECT source_path FROM videos WHERE id = :id", id=video_id)
    source.write_bytes(media_files["small"].read_bytes())

    retried = client.call("POST", f"/video/{video_id}/retry/", headers={"X-CSRFToken": client.csrf()})

    assert (retried["status"], retried["error"]) == ("uploaded", None)
    final = pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)
    assert (final["status"], final["error"], final["resolutions"]) == ("ready", None, ["480p"])


def test_subtitle_streams_of_an_upload_become_tracks_viewers_can_choose(pipeline, media_files, tmp_path):
    """An MKV with SubRip, ASS and WebVTT streams (and a second German one) is ready with a track per language,
    listed by the API, in the master playlist's subtitles group, and read as WebVTT."""
    client = pipeline.client()
    source = make_subtitled(tmp_path / "subtitled.mkv", media_files["small"])
    video_id = client.upload(source, {"title": "Subtitled"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)["status"] == "ready"

    tracks = client.call("GET", f"/video/{video_id}/subtitles/")
    assert [(t["language"], t["label"], t["origin"]) for t in tracks] == [
        ("de", "Deutsch", "source"), ("en", "English", "source"), ("fr", "Français (forcé)", "source"),
    ]  # fmt: skip
    with client.opener.open(f"{pipeline.api}/video/{video_id}/master.m3u8") as response:
        master = response.read().decode()
    assert master.count("#EXT-X-MEDIA:TYPE=SUBTITLES") == 3
    with client.opener.open(tracks[2]["url"]) as response:
        french = response.read().decode()
    assert "X-TIMESTAMP-MAP=MPEGTS:" in french and "<i>Bonjour</i> le monde" in french


def test_an_untagged_interlaced_upload_is_found_and_deinterlaced(pipeline, tmp_path):
    """Fields woven into frames stored as progressive (no field order in the stream): the worker's idet
    sample finds them, and the rendition has whole frames (idet on the output: nearly none combed)."""
    client = pipeline.client()
    source = tmp_path / "woven.mp4"
    make_clip(source, seconds=3, size="720x480", rate=60, extra=["-vf", "interlace=scan=tff,setfield=prog"])
    assert not parse_probe(
        subprocess.run([ffmpeg_exe(), "-i", str(source)], capture_output=True, text=True).stderr
    ).interlaced
    video_id = client.upload(source, {"title": "Woven fields"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)["status"] == "ready"

    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(output / "480p" / "index.m3u8"), "-vf", "idet",
                           "-f", "null", "-"], capture_output=True, text=True).stderr  # fmt: skip
    counts = r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)"
    tff, bff, progressive = map(int, re.findall(counts, said)[-1])
    assert tff + bff <= 9 and progressive >= 81, said[-600:]  # of 90 frames


def test_web_and_worker_answer_health_checks(pipeline):
    """The orchestrators' view: liveness and readiness of the web process and of a worker (Faust's web port)."""
    web = pipeline.api.removesuffix("/api")
    worker = f"http://127.0.0.1:{pipeline.workers[0].web_port}"
    for base in (web, worker):
        assert http("GET", f"{base}/healthz") == (200, {"status": "ok"}), base
        assert http("GET", f"{base}/readyz") == (200, {"status": "ready", "checks": {"database": "ok", "broker": "ok"}})


def test_worker_metrics_show_finished_jobs_and_consumer_lag(pipeline, media_files):
    """After a job, the worker's /metrics (Prometheus text) has its duration and the lag per partition."""
    client = pipeline.client()
    video = client.upload(media_files["small"], {"title": "Metrics"})
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 180)["status"] == "ready"
    ready = [w for w in pipeline.workers if w.proc.poll() is None]
    texts = [
        urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/metrics", timeout=10).read().decode() for w in ready
    ]
    text = "\n".join(texts)
    assert re.search(r'^videoflix_job_duration_seconds_count\{rendition="480p"\} [1-9]', text, re.M), text[-2000:]
    assert re.search(r'^videoflix_jobs_total\{outcome="ready"\} [1-9]', text, re.M)
    assert re.search(r'^videoflix_consumer_lag\{partition="\d+",topic="videos.uploaded"\} 0.0$', text, re.M)
    assert "videoflix_jobs_in_flight 0.0" in text


def test_forged_or_stale_reports_change_nothing(pipeline, media_files):
    """Anyone who can write to the broker could send `videos.processed` and `videos.progress` events (Kafka
    without authentication): a forged `ready` removed a ready film's outputs, a forged `failed` or restart
    took it off the catalog. Events now carry their job's token from the video's row; without it, through the
    real broker and the workers' results agent, nothing changes."""
    import asyncio
    import json

    from aiokafka import AIOKafkaProducer

    client = pipeline.client()
    video_id = client.upload(media_files["small"], {"title": "Not to be forged"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 180)["status"] == "ready"
    before = pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    token = pipeline.scalar("SELECT job_token FROM videos WHERE id = :id", id=video_id)
    assert token and len(token) == 32
    forged = [
        ("videos.processed", {"schema": 1, "video_id": video_id, "status": "ready", "renditions": [],
                              "hls_path": f"videos/{video_id}/hls-forged", "attempt": 0}),
        ("videos.processed", {"schema": 1, "video_id": video_id, "status": "ready", "renditions": [], "token": "0" * 32,
                              "hls_path": f"videos/{video_id}/hls-forged", "attempt": 0}),
        ("videos.processed", {"schema": 1, "video_id": video_id, "status": "failed", "error": "forged", "attempt": 0}),
        ("videos.progress", {"schema": 1, "video_id": video_id, "progress": 0.0, "hls_path": "", "attempt": 0}),
    ]  # fmt: skip

    async def send():
        producer = AIOKafkaProducer(bootstrap_servers=pipeline.env["KAFKA_BOOTSTRAP_SERVERS"])
        await producer.start()
        try:
            for topic, value in forged:
                await producer.send_and_wait(topic, json.dumps(value).encode(), key=str(video_id).encode())
        finally:
            await producer.stop()

    asyncio.run(send())
    deadline = time.monotonic() + 90
    while (
        time.monotonic() < deadline
        and sum(
            worker.output.count(f"video {video_id}: a ready report not of its current job")
            for worker in pipeline.workers
        )
        < 2
    ):
        time.sleep(0.5)  # the results agent took both forged `ready` events (and those before and after them)
    time.sleep(2)
    status = client.status(video_id)
    assert (status["status"], status["error"]) == ("ready", None)
    assert pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id) == before
    assert (pipeline.media / before / "master.m3u8").is_file()  # the outputs are all there
