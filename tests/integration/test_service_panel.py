"""The console's service panel in headless Chromium against a running stack of its own (web, two workers,
tansu, PostgreSQL, FFmpeg): the workers online, a killed one shown gone within a minute, a stopped one at once;
with no worker left, uploads show as a backlog (and an alarm); a worker started again drains it, the panel
following live (it polls; the page is never reloaded)."""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import pytest

from ..support.browser import Browser, chromium_path, open_console, until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"),
]

#: the panel's row of a worker and its state
WORKER_STATE = "document.querySelector('#worker-rows tr[data-worker=\"%s\"]')?.dataset.state"
#: events waiting on the uploads' topic (outbox and Kafka), as the panel shows them
UPLOADS_WAITING = "Number(document.querySelector('#backlog-rows tr[data-topic=\"videos.uploaded\"]')?.dataset.total)"
#: the page's own marker: set once, gone if the page were reloaded
MARK = "window.panelNeverReloaded"


def name_of(worker) -> str:
    """A worker's name in the census (`host:pid`)."""
    return f"{socket.gethostname()}:{worker.proc.pid}"


async def follow(stack, clip, shots) -> dict:
    seen: dict = {}
    async with Browser(shots / "profile") as browser:
        assert await open_console(browser, stack.api) == "staff"
        await browser.evaluate(f"{MARK} = true")
        first, second = stack.workers
        for worker in (first, second):
            await until(browser, f"{WORKER_STATE % name_of(worker)} === 'online'", 60, "both workers show online")
        seen["summary_before"] = await browser.evaluate("document.getElementById('workers-summary').textContent")

        # one worker killed (SIGKILL: it says nothing, its row stops being renewed), the other stopped cleanly
        # (it says so on its way out), and uploads arriving meanwhile: all followed at once
        first.kill()
        killed = time.monotonic()
        second.proc.send_signal(signal.SIGINT)
        await until(browser, f"{WORKER_STATE % name_of(second)} === 'stopped'", 30, "the stopped worker shows")
        seen["stopped_after"] = time.monotonic() - killed
        second.proc.wait(60)
        client = stack.client()
        seen["uploads"] = [client.upload(clip, {"title": f"Waiting {n}"})["id"] for n in range(3)]
        seen["backlog"] = await until(browser, f"(n => n >= 3 && n)({UPLOADS_WAITING})", 30, "the backlog shows")
        await until(browser, f"{WORKER_STATE % name_of(first)} === 'gone'", 75, "the killed worker shows gone")
        seen["gone_after"] = time.monotonic() - killed
        seen["alarm_shown"] = await until(browser, "!document.getElementById('workers-alarm').hidden", 15,
                                          "the alarm shows")  # fmt: skip
        seen["waiting_jobs"] = await browser.evaluate(
            "Array.from(document.querySelectorAll('#job-rows li'), (li) => li.textContent)"
        )
        await browser.screenshot(shots / "backlog.png")

        again = stack.start_worker()
        again.wait_for(r"\[\^Worker\]: Ready", 120)
        await until(browser, f"{WORKER_STATE % name_of(again)} === 'online'", 60, "the new worker shows online")
        await until(browser, f"{UPLOADS_WAITING} === 0", 180, "the backlog drains")
        seen["never_reloaded"] = await browser.evaluate(MARK)
    return seen


def test_workers_gone_and_a_backlog_show_live_in_the_service_panel(panel_stack, media_files, tmp_path):
    seen = asyncio.run(follow(panel_stack, media_files["small"], tmp_path))
    assert seen["summary_before"] == "2 workers online"
    assert seen["gone_after"] < 60, seen  # the bound: within a minute
    assert seen["stopped_after"] < 15, seen
    assert seen["alarm_shown"]
    assert seen["backlog"] >= 3
    waiting = [text for text in seen["waiting_jobs"] if text.startswith("Waiting ")]
    assert len(waiting) == 3 and all(text.endswith(": waiting for a worker") for text in waiting), seen
    assert seen["never_reloaded"] is True
    client = panel_stack.client()
    for video_id in seen["uploads"]:  # nothing waited in vain: each upload ends ready
        assert panel_stack.wait_for_status(client, video_id, {"ready", "failed"}, 120)["status"] == "ready"
