"""What operators see of their service at a glance (the console's service panel, `GET /api/admin/service/`),
read from what the system already records: the workers' census rows (each worker's heartbeat, with the Kafka
view it took: the consumer group's members and each topic's backlog; stream_workers/census.py), the outbox, the
videos' rows (jobs in flight with their ETA, failures, each film's bytes in the store) and the store's capacity.

The web tier never speaks Kafka (it holds no broker credentials): Kafka's view comes through the workers' rows,
taken every few seconds while any worker runs. With every worker down the rows age (the panel says so) and
uploads wait in the outbox, which is counted here directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from videoflix.core.disks import disk_of
from videoflix.core.ladders import FURTHER
from videoflix.core.models.worker import GONE_AFTER

from .failure_advice import advice_for

#: the service's recent failures listed (their count covers the whole day)
RECENT_FAILURES = 5
#: the most jobs in flight listed
JOBS_LISTED = 50

WORKERS = sa.text(
    "SELECT name, host, started_at, seen_at, stopped_at, jobs, kafka,"
    " extract(epoch FROM now() - seen_at)::float8 AS quiet FROM workers ORDER BY started_at DESC, name LIMIT 100"
)
OUTBOX = sa.text(
    "SELECT topic, count(*) AS waiting, extract(epoch FROM now() - min(created_at))::float8 AS oldest"
    " FROM outbox WHERE published_at IS NULL GROUP BY topic ORDER BY topic"
)
#: the stages a ready film may still be in, each shown in its `progress_detail` under its name while it runs
STAGES = [*FURTHER, "captions"]
IN_FLIGHT = sa.text(
    "SELECT id, title, status, progress, progress_detail FROM videos"
    " WHERE status IN ('uploaded', 'processing', 'playable')"
    " OR (status = 'ready' AND progress_detail ?| CAST(:stages AS text[])) ORDER BY created_at, id LIMIT :limit"
)
#: a film that failed, or a ready film whose captions failed, within the day (its row's last change)
FAILURES = sa.text(
    "SELECT id, title, CASE WHEN status = 'failed' THEN 'encode' ELSE 'captions' END AS stage,"
    " CASE WHEN status = 'failed' THEN error ELSE progress_detail -> 'captions' ->> 'failed' END AS reason,"
    " updated_at FROM videos WHERE updated_at > now() - interval '1 day'"
    " AND (status = 'failed' OR progress_detail -> 'captions' ? 'failed') ORDER BY updated_at DESC"
)
STORED = sa.text(
    "SELECT coalesce(sum(stored_bytes), 0) AS used, count(stored_bytes) AS measured, count(*) AS films FROM videos"
)


def storage_capacity(backend: str, media_root: Path, quota: int | None, used: int) -> tuple[int | None, int | None]:
    """(capacity, free) bytes of the store: its quota (STORAGE_QUOTA_BYTES) less what the films use; else the disk
    MEDIA_ROOT is on (local storage); else unknown (an S3 bucket without a quota)."""
    if quota is not None:
        return quota, max(0, quota - used)
    if backend == "local" and media_root.is_dir() and (disk := disk_of(media_root)) is not None:
        return disk.total, disk.free
    return None, None


class ServicePanel:
    """The panel's figures from one database session or connection (anything with `execute`)."""

    def __init__(self, db, backend: str, media_root: Path, quota: int | None):
        self.db, self.backend, self.media_root, self.quota = db, backend, media_root, quota

    def read(self) -> dict[str, Any]:
        workers = self.workers()
        return {
            "workers": workers,
            "kafka": self.kafka(workers),
            "backlog": self.backlog(workers),
            "jobs": self.jobs(),
            "failures": self.failures(),
            "storage": self.storage(),
        }

    def workers(self) -> list[dict[str, Any]]:
        """Every worker seen within the day: online (renewed within GONE_AFTER), stopped (it said so), or gone."""
        listed = []
        for row in self.db.execute(WORKERS):
            state = "stopped" if row.stopped_at else "online" if row.quiet <= GONE_AFTER else "gone"
            listed.append({
                "name": row.name, "host": row.host, "state": state, "jobs": row.jobs if state == "online" else 0,
                "started_at": row.started_at, "seen_at": row.seen_at, "seen_seconds_ago": round(row.quiet, 1),
                "kafka": row.kafka,
            })  # fmt: skip
        return listed

    @staticmethod
    def freshest_view(workers: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The Kafka view an online worker took last (an error's too: Kafka did not answer it), else None."""
        online = [w for w in workers if w["state"] == "online" and w["kafka"]]
        return min(online, key=lambda w: w["seen_seconds_ago"]) if online else None

    def kafka(self, workers: list[dict[str, Any]]) -> dict[str, Any]:
        """The consumer group as Kafka last described it to a running worker; with none running, unknown."""
        freshest = self.freshest_view(workers)
        if freshest is None:
            return {"measured": False, "reason": "No worker is running to ask Kafka."}
        view = freshest["kafka"]
        if "error" in view:
            return {"measured": False, "reason": view["error"], "seconds_ago": freshest["seen_seconds_ago"]}
        return {"measured": True, "seconds_ago": freshest["seen_seconds_ago"], **view.get("group", {})}

    def backlog(self, workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per topic: events committed but not published yet (the outbox) and published but not processed yet
        (the group's lag, as last measured; null when no running worker could measure it)."""
        freshest = self.freshest_view(workers)
        lags = {} if freshest is None else freshest["kafka"].get("topics", {})
        waiting = {row.topic: row for row in self.db.execute(OUTBOX)}
        listed = []
        for topic in sorted(set(lags) | set(waiting)):
            outbox = waiting.get(topic)
            lag = lags[topic]["lag"] if topic in lags else None
            listed.append({
                "topic": topic, "outbox": outbox.waiting if outbox else 0,
                "outbox_oldest_seconds": round(outbox.oldest, 1) if outbox else None, "lag": lag,
                "total": (outbox.waiting if outbox else 0) + (lag or 0),
            })  # fmt: skip
        return listed

    def jobs(self) -> list[dict[str, Any]]:
        """What the workers are doing or will do: each film's stage (encode, a further ladder, captions), its
        progress and the time to go at the speed measured."""
        listed = []
        for row in self.db.execute(IN_FLIGHT, {"limit": JOBS_LISTED, "stages": STAGES}):
            detail = row.progress_detail or {}
            stages = []
            if row.status != "ready":
                stage = "waiting" if row.status == "uploaded" else "encode"
                stages.append({"stage": stage, "progress": round(row.progress or 0.0, 1),
                               "eta_seconds": detail.get("eta_seconds"), "speed": detail.get("speed")})  # fmt: skip
            for name in STAGES:
                making = detail.get(name)
                if isinstance(making, dict) and "progress" in making:
                    stages.append({"stage": name, "progress": making["progress"],
                                   "eta_seconds": making.get("eta_seconds"), "speed": making.get("speed")})  # fmt: skip
            if stages:
                listed.append({"video_id": row.id, "title": row.title, "status": row.status, "stages": stages})
        return listed

    def failures(self) -> dict[str, Any]:
        rows = self.db.execute(FAILURES).all()
        recent = [
            {
                "video_id": r.id,
                "title": r.title,
                "stage": r.stage,
                "reason": r.reason,
                "at": r.updated_at,
                "advice": advice_for(r.reason, r.stage),
            }
            for r in rows[:RECENT_FAILURES]
        ]
        return {"last_24h": len(rows), "recent": recent}

    def storage(self) -> dict[str, Any]:
        row = self.db.execute(STORED).one()
        capacity, free = storage_capacity(self.backend, self.media_root, self.quota, int(row.used))
        return {"used_bytes": int(row.used), "films_measured": row.measured, "films": row.films,
                "capacity_bytes": capacity, "free_bytes": free}  # fmt: skip
