"""A corpus of 50+ hostile and odd media files (tests/support/hostile.py) through the real upload endpoint, broker,
workers and FFmpeg: each is refused with a 4xx, or ends `ready`, or `failed` with a reason, in bounded time;
never a 5xx, never a worker crash."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy.orm import Session

from videoflix.cli.upload import ApiError
from videoflix.core import events, outbox
from videoflix.core.models import Video, VideoStatus

from ..support.hostile import (
    FAILED,
    READY,
    REJECTED,
    SETTLES,
    beyond_limits,
    confinement_corpus,
    make_corpus,
    marker_video,
    never_read,
    was_read,
)
from ..support.stack import FAULT_REPORT

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture(scope="module")
def corpus():
    folder = Path(tempfile.mkdtemp(prefix="videoflix-hostile-"))
    yield make_corpus(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_every_hostile_file_gets_a_clear_outcome(pipeline, corpus):
    assert len(corpus) >= 50
    workers = [w for w in pipeline.workers if w.proc.poll() is None]
    client = pipeline.client()
    refused, accepted = {}, {}
    for case in corpus:
        try:
            accepted[case.name] = client.upload(case.path, {"title": case.name})["id"]
        except ApiError as error:
            assert 400 <= error.status < 500, (case.name, error)
            assert error.body["detail"], case.name
            refused[case.name] = error.status

    deadline = time.monotonic() + 600
    outcome: dict[str, dict] = {}
    while len(outcome) < len(accepted) and time.monotonic() < deadline:
        for name, video_id in accepted.items():
            if name not in outcome:
                status = client.status(video_id)
                if status["status"] in ("ready", "failed"):
                    outcome[name] = status
        time.sleep(1)

    unsettled = sorted(set(accepted) - set(outcome))
    wrong = []
    for case in corpus:
        got = "rejected" if case.name in refused else outcome.get(case.name, {}).get("status", "unsettled")
        if case.expect == REJECTED and got != "rejected":
            wrong.append((case.name, "expected a 4xx", got))
        if case.expect == READY and got != "ready":
            wrong.append((case.name, "expected ready", got, outcome.get(case.name, {}).get("error")))
        if case.expect == FAILED and got != "failed":
            wrong.append((case.name, "expected failed", got))
        if case.expect == FAILED and got == "failed" and "no progress" not in outcome[case.name]["error"]:
            wrong.append((case.name, "expected the stall timeout to end it", outcome[case.name]["error"]))
        if case.expect == SETTLES and got == "unsettled":
            wrong.append((case.name, "expected a clear outcome", got))
        if got == "failed":
            assert outcome[case.name]["error"], case.name  # always with a reason
        if got == "ready":
            assert outcome[case.name]["resolutions"], case.name
    runs = {v: sum(w.output.count(f"video {v} transcoded") for w in pipeline.workers) for v in accepted.values()}
    FAULT_REPORT.append(
        {
            "scenario": f"hostile media ({len(corpus)} files)",
            "uploads": len(accepted),
            "ready": sum(1 for s in outcome.values() if s["status"] == "ready"),
            "failed": sum(1 for s in outcome.values() if s["status"] == "failed"),
            "lost": len(unsettled),
            "duplicates": sum(1 for count in runs.values() if count > 1),
        }
    )
    assert not unsettled and not wrong, (unsettled, wrong)
    assert all(w.proc.poll() is None for w in workers)  # no worker crashed on any of them


def slipped_through(pipeline, path: Path, extension: str) -> int:
    """A video whose source got past the upload's checks (written straight into storage, or checked under
    limits lowered since): its row, its stored source and its `videos.uploaded` event, as the upload makes them."""
    with Session(pipeline.engine) as db, db.begin():
        video = Video(title=path.name, status=VideoStatus.UPLOADED, source_path="")
        db.add(video)
        db.flush()
        folder = pipeline.media / "videos" / str(video.id)
        folder.mkdir(parents=True)
        shutil.copy(path, folder / f"source{extension}")
        video.source_path = f"videos/{video.id}/source{extension}"
        outbox.enqueue(db, [(events.UPLOADED, str(video.id), events.uploaded(video.id, video.source_path))])
        return video.id


def test_workers_fail_a_hostile_source_that_got_past_the_upload(pipeline, tmp_path):
    marker = marker_video(tmp_path / "marker.mp4")
    hostile = {case.name: case.path for case in confinement_corpus(tmp_path / "corpus", marker)}
    hostile |= {case.name: case.path for case in beyond_limits(tmp_path / "limits")}
    expected = {  # the stored name, as the upload would give it, and what the failure must say
        "DASH manifest behind a 'wide' atom": (".mp4", "no video stream"),
        "SDP dressed as MPEG-TS": (".ts", "no video stream"),
        "HLS playlist": (".mp4", "not a video container"),
        "HLS playlist in an MP4 mdat": (".mp4", "no video stream"),
        "a million hours claimed (MKV)": (".mkv", "MEDIA_MAX_DURATION"),
    }
    never_read(marker)
    workers = [psutil.Process(w.proc.pid) for w in pipeline.workers if w.proc.poll() is None]
    memory_before = [w.memory_info().rss for w in workers]
    client = pipeline.client()

    videos = {name: slipped_through(pipeline, hostile[name], extension) for name, (extension, _) in expected.items()}

    for name, video_id in videos.items():
        status = pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 120)
        assert status["status"] == "failed", (name, status)
        assert expected[name][1] in status["error"], (name, status["error"])
        assert str(pipeline.folder) not in status["error"], status["error"]  # no server path
    assert not was_read(marker)
    growth = [w.memory_info().rss - before for w, before in zip(workers, memory_before, strict=True)]
    assert max(growth) < 64 << 20, growth  # nothing was planned from a million hours
