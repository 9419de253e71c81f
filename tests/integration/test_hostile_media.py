"""A corpus of 50+ hostile and odd media files (tests/hostile.py) through the real upload endpoint, broker,
workers and FFmpeg: each is refused with a 4xx, or ends `ready`, or `failed` with a reason, in bounded time;
never a 5xx, never a worker crash."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from videoflix.cli.upload import ApiError

from ..hostile import FAILED, READY, REJECTED, SETTLES, make_corpus
from .conftest import FAULT_REPORT

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
