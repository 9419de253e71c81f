"""The operators' service panel's API (`GET /api/admin/service/`): who is online, the backlog per topic, jobs in
flight, the day's failures and the storage used, read from the workers' census rows, the outbox and the videos."""

from __future__ import annotations

import shutil

import sqlalchemy as sa

from videoflix.core.models import OutboxEvent, VideoStatus, Worker
from videoflix.services import failure_advice
from videoflix.services.service_panel import ServicePanel, storage_capacity

VIEW = {"group": {"state": "Stable", "members": 2},
        "topics": {"videos.uploaded": {"end": 9, "done": 6, "lag": 3},
                   "videos.parts": {"end": 4, "done": 4, "lag": 0}}}  # fmt: skip


def seen(dbsession, name: str, seconds_ago: float, **values) -> None:
    dbsession.add(Worker(name=name, host=name.split(":")[0],
                         seen_at=sa.func.now() - sa.text(f"interval '{seconds_ago} seconds'"), **values))  # fmt: skip


def test_only_staff_see_the_service(frontend, viewer):
    viewer.get("/api/admin/service/", status=403)
    viewer.post("/api/logout/", status=200)
    frontend.get("/api/admin/service/", status=401)


def test_workers_online_stopped_and_gone(operator, dbsession):
    seen(dbsession, "a:1", 2, jobs=1, kafka=VIEW)
    seen(dbsession, "b:2", 45, jobs=1, kafka={**VIEW, "group": {"state": "Stable", "members": 3}})  # killed
    seen(dbsession, "c:3", 5, stopped_at=sa.func.now(), jobs=0)  # stopped cleanly
    dbsession.commit()
    panel = operator.get("/api/admin/service/", status=200)
    assert panel.headers["Cache-Control"] == "no-store"
    states = {w["name"]: (w["state"], w["jobs"]) for w in panel.json["workers"]}
    assert states == {"a:1": ("online", 1), "b:2": ("gone", 0), "c:3": ("stopped", 0)}
    # the group as the freshest running worker saw it (not the gone one's older view)
    assert panel.json["kafka"] == {"measured": True, "seconds_ago": 2.0, "state": "Stable", "members": 2}


def test_the_backlog_is_the_outbox_and_the_groups_lag_per_topic(operator, dbsession):
    seen(dbsession, "a:1", 1, kafka=VIEW)
    for n in range(2):
        dbsession.add(OutboxEvent(topic="videos.uploaded", key=str(n), payload={}))
    dbsession.add(OutboxEvent(topic="videos.captions", key="9", payload={},
                              created_at=sa.func.now() - sa.text("interval '90 seconds'")))  # fmt: skip
    dbsession.add(OutboxEvent(topic="videos.captions", key="8", payload={}, published_at=sa.func.now()))
    dbsession.commit()
    backlog = {t["topic"]: t for t in operator.get("/api/admin/service/", status=200).json["backlog"]}
    assert backlog["videos.uploaded"] | {"outbox_oldest_seconds": None} == {
        "topic": "videos.uploaded", "outbox": 2, "outbox_oldest_seconds": None, "lag": 3, "total": 5}  # fmt: skip
    assert backlog["videos.captions"] == {"topic": "videos.captions", "outbox": 1, "outbox_oldest_seconds": 90.0,
                                          "lag": None, "total": 1}  # fmt: skip
    assert backlog["videos.parts"]["total"] == 0


def test_with_no_worker_running_kafka_is_unknown_and_the_outbox_still_counts(operator, dbsession):
    seen(dbsession, "a:1", 600, kafka=VIEW)
    dbsession.add(OutboxEvent(topic="videos.uploaded", key="1", payload={}))
    dbsession.commit()
    panel = operator.get("/api/admin/service/", status=200).json
    assert panel["kafka"] == {"measured": False, "reason": "No worker is running to ask Kafka."}
    assert panel["backlog"] == [{"topic": "videos.uploaded", "outbox": 1, "outbox_oldest_seconds": 0.0,
                                 "lag": None, "total": 1}]  # fmt: skip


def test_jobs_in_flight_with_their_stage_and_time_to_go(operator, add_video, dbsession):
    waiting = add_video(status=VideoStatus.UPLOADED, title="Waiting")
    encoding = add_video(status=VideoStatus.PROCESSING, title="Encoding", progress=40.0,
                         progress_detail={"eta_seconds": 30, "speed": 2.5})  # fmt: skip
    making = add_video(title="Making AV1", progress_detail={
        "av1": {"progress": 12.5, "eta_seconds": 300, "speed": 0.4},
        "captions": {"progress": 50, "parts": 2, "parts_done": 1, "eta_seconds": 20, "speed": 9.0}})  # fmt: skip
    add_video(title="Captions failed", progress_detail={"captions": {"failed": "The sound cannot be decoded."}})
    add_video(title="Done")
    jobs = {j["video_id"]: j for j in operator.get("/api/admin/service/", status=200).json["jobs"]}
    assert set(jobs) == {waiting, encoding, making}
    assert jobs[waiting]["stages"] == [{"stage": "waiting", "progress": 0.0, "eta_seconds": None, "speed": None}]
    assert jobs[encoding]["stages"] == [{"stage": "encode", "progress": 40.0, "eta_seconds": 30, "speed": 2.5}]
    assert jobs[making]["stages"] == [
        {"stage": "av1", "progress": 12.5, "eta_seconds": 300, "speed": 0.4},
        {"stage": "captions", "progress": 50, "eta_seconds": 20, "speed": 9.0},
    ]


def test_the_days_failures_with_their_reasons(operator, add_video, dbsession):
    broken = add_video(status=VideoStatus.FAILED, title="Broken", error="The file holds no video stream.")
    mute = add_video(title="Mute", progress_detail={"captions": {"failed": "The sound cannot be decoded."}})
    old = add_video(status=VideoStatus.FAILED, title="Last week", error="Old news.")
    dbsession.execute(sa.text("UPDATE videos SET updated_at = now() - interval '2 days' WHERE id = :id"), {"id": old})
    dbsession.commit()
    failures = operator.get("/api/admin/service/", status=200).json["failures"]
    mine = [f for f in failures["recent"] if f["video_id"] in (broken, mute, old)]
    assert {(f["title"], f["stage"], f["reason"]) for f in mine} == {
        ("Broken", "encode", "The file holds no video stream."),
        ("Mute", "captions", "The sound cannot be decoded."),
    }
    assert failures["last_24h"] >= 2


def test_storage_used_is_the_films_measured_bytes_and_the_disk_holds_the_rest(operator, add_video, dbsession,
                                                                               media_root):  # fmt: skip
    before = operator.get("/api/admin/service/", status=200).json["storage"]
    add_video(stored_bytes=1500)
    add_video(stored_bytes=500)
    add_video()  # not measured yet (the sweep measures within a minute of a worker's start, then hourly)
    storage = operator.get("/api/admin/service/", status=200).json["storage"]
    assert storage["used_bytes"] - before["used_bytes"] == 2000
    assert (storage["films_measured"] - before["films_measured"], storage["films"] - before["films"]) == (2, 3)
    disk = shutil.disk_usage(media_root)
    assert storage["capacity_bytes"] == disk.total and 0 < storage["free_bytes"] <= disk.total


def test_a_quota_is_the_stores_capacity_and_s3_without_one_is_unknown(tmp_path):
    assert storage_capacity("s3", tmp_path, 10_000, 2_500) == (10_000, 7_500)
    assert storage_capacity("local", tmp_path, 1_000, 2_500) == (1_000, 0)  # over quota: nothing free
    assert storage_capacity("s3", tmp_path, None, 2_500) == (None, None)
    assert storage_capacity("local", tmp_path / "missing", None, 0) == (None, None)


def test_the_panel_reads_a_plain_connection_as_the_metrics_do(connection):
    storage = ServicePanel(connection, "s3", None, 4_000).storage()
    assert storage["capacity_bytes"] == 4_000 and storage["free_bytes"] == max(0, 4_000 - storage["used_bytes"])


def test_the_panels_figures_are_gauges_for_prometheus(frontend, add_video, dbsession):
    """What the alerts and the dashboard read from the web tier, which holds while every worker is down."""
    seen(dbsession, "a:1", 1, kafka=VIEW)
    seen(dbsession, "b:2", 120)
    dbsession.add(OutboxEvent(topic="videos.captions", key="1", payload={}))
    add_video(stored_bytes=4096)
    text = frontend.get("/metrics", status=200).text
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples['videoflix_workers{state="online"}']) >= 1
    assert float(samples['videoflix_workers{state="gone"}']) >= 1
    assert samples['videoflix_backlog_events{place="kafka",topic="videos.uploaded"}'] == "3.0"
    assert float(samples['videoflix_backlog_events{place="outbox",topic="videos.captions"}']) >= 1
    assert float(samples["videoflix_storage_used_bytes"]) >= 4096
    free, capacity = float(samples["videoflix_storage_free_bytes"]), float(samples["videoflix_storage_capacity_bytes"])
    assert 0 < free <= capacity


def test_each_failure_says_what_to_do(operator, add_video):
    """The workers' reasons say what happened; the status and the panel add the next step, in words."""
    undecodable = "The video could not be decoded; the file may be damaged or use an unsupported codec."
    broken = add_video(status=VideoStatus.FAILED, title="Undecodable", error=undecodable)
    slow = add_video(status=VideoStatus.FAILED, title="Slow",
                     error="Processing was stopped: FFmpeg made the time limit of 21600 s.")  # fmt: skip
    odd = add_video(status=VideoStatus.FAILED, title="Odd", error="Something nobody foresaw.")
    mute = add_video(title="Mute", progress_detail={"captions": {"failed": "TranscodeError: no sound"}})
    advice = {v: operator.get(f"/api/video/{v}/status/", status=200).json for v in (broken, slow, odd, mute)}
    assert advice[broken]["advice"].startswith("Play the file on a computer")
    assert "TRANSCODE_TIMEOUT" in advice[slow]["advice"]
    assert advice[odd]["advice"] == failure_advice.GENERAL
    assert advice[mute]["advice"] is None and "AAC sound" in advice[mute]["captions_advice"]
    assert advice[broken]["captions_advice"] is None
    recent = {
        f["video_id"]: f["advice"] for f in operator.get("/api/admin/service/", status=200).json["failures"]["recent"]
    }
    assert recent[slow] == advice[slow]["advice"] and recent[mute] == advice[mute]["captions_advice"]
