"""Operators control accounts through the real stack: the console's accounts panel in Chromium and the
`videoflix user` commands, on the same PostgreSQL the web process serves from. A deactivated viewer's browser
is out on its next request; the command line lifts it; the last operator stays; every change is in the log."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from ..support.accounts import PASSWORD
from ..support.browser import Browser, chromium_path, log_in, until
from ..support.stack import VIDEOFLIX

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"),
]

WATCHER = "watcher@example.com"
WATCHER_PASSWORD = "Watching-every-night-7"
#: the accounts panel's row of the watcher, and a search typed into the panel (`%s`: the text, as JSON)
ROW = f"[...document.querySelectorAll('#account-rows tr')].find(r => r.cells[0].textContent === '{WATCHER}')"
#: the watcher's rows of the "Watching now" table (other tests' viewers may be there too)
WATCHER_ROWS = (
    f"[...document.querySelectorAll('#watching-rows tr')].filter(r => r.cells[0].textContent === {WATCHER!r})"
)
WATCHING = f"{WATCHER_ROWS}.map(r => r.innerText).join('\\n')"
SEARCH = """(() => { const input = document.querySelector('#account-search input');
    input.value = %s; input.dispatchEvent(new Event('input', {bubbles: true})); })()"""


def user_command(pipeline, *argv: str, name: str):
    """`videoflix user ...` against the stack's settings: (exit status, output)."""
    command = pipeline.run([*VIDEOFLIX, "user", *argv, "--ini", str(pipeline.folder / "development.ini")], name)
    status = command.proc.wait(60)
    return status, command.output


def catalog_status(browser: Browser):
    return browser.evaluate("fetch('/api/video/').then(r => r.status)", await_promise=True)


def a_film(pipeline, title: str) -> int:
    """A ready film whose 480p playlist is on disk (all a player's first request needs), added as the workers
    would leave it."""
    with pipeline.engine.begin() as conn:
        video_id = conn.execute(
            sa.text(
                "INSERT INTO videos (title, description, category, status, source_path, progress, views, created_at) "
                "VALUES (:title, '', 'Drama', 'ready', 'x', 100, 0, now()) RETURNING id"
            ),
            {"title": title},
        ).scalar_one()
        conn.execute(sa.text("UPDATE videos SET hls_path = :path WHERE id = :id"),
                     {"path": f"videos/{video_id}/hls-watch", "id": video_id})  # fmt: skip
    rendition = pipeline.media / "videos" / str(video_id) / "hls-watch" / "480p"
    rendition.mkdir(parents=True)
    (rendition / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n000.ts\n#EXT-X-ENDLIST\n")
    return video_id


def test_operators_deactivate_and_reactivate_accounts_in_the_console_and_the_shell(pipeline, tmp_path):
    status, output = user_command(pipeline, "create", WATCHER, "--password", WATCHER_PASSWORD, name="create-watcher")
    assert status == 0, output
    site = pipeline.api.removesuffix("/api")
    film = a_film(pipeline, "Night watch")

    async def operate() -> dict:
        seen: dict = {}
        async with Browser(tmp_path / "viewer") as viewer, Browser(tmp_path / "operator") as operator:
            assert await log_in(viewer, site + "/admin/", WATCHER, WATCHER_PASSWORD) == "forbidden"
            seen["before"] = await catalog_status(viewer)
            seen["playlist"] = await viewer.evaluate(f"fetch('/api/video/{film}/480p/index.m3u8').then(r => r.status)",
                                                     await_promise=True)  # fmt: skip
            assert await log_in(operator, site + "/admin/", "operator@example.com", PASSWORD) == "staff"
            await until(operator, "document.querySelectorAll('#account-rows tr').length > 0", 30, "accounts listed")
            await operator.evaluate(SEARCH % json.dumps(WATCHER))
            row = ROW
            await until(operator, f"document.querySelectorAll('#account-rows tr').length === 1 && !!{row}", 30,
                        "the search finds the viewer")  # fmt: skip
            seen["listed"] = await operator.evaluate(f"{row}.innerText")
            seen["watching"] = await until(operator, WATCHING, 30, "the panel shows who is watching")
            await operator.evaluate("window.confirm = () => true")
            await operator.evaluate(f"{row}.querySelector('button[data-action=deactivate]').click()")
            seen["after_click"] = await until(
                operator, f"{row} && {row}.cells[1].textContent.startsWith('deactivated') && {row}.innerText", 30,
                "the row shows the deactivation")  # fmt: skip
            seen["message"] = await operator.evaluate("document.getElementById('message').textContent")
            seen["watching_after"] = await until(operator, f"{WATCHER_ROWS}.length === 0", 30,
                                                 "the playback ends with the deactivation")  # fmt: skip
            seen["after"] = await catalog_status(viewer)
            seen["refresh"] = await viewer.evaluate(
                "fetch('/api/token/refresh/', {method: 'POST', headers: "
                "{'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]}}).then(r => r.status)",
                await_promise=True,
            )
            await operator.evaluate("document.getElementById('accounts').scrollIntoView()")
            await operator.screenshot(tmp_path / "accounts.png")

            seen["shell"] = user_command(pipeline, "activate", WATCHER, name="activate-watcher")
            seen["last"] = user_command(pipeline, "unstaff", "operator@example.com", name="unstaff-operator")
            seen["nobody"] = user_command(pipeline, "deactivate", "nobody@example.com", name="deactivate-nobody")
            seen["list"] = user_command(pipeline, "list", "--search", "watcher@", name="list-watcher")

            await operator.evaluate("document.getElementById('audit').open = true")
            await operator.evaluate(SEARCH % json.dumps(WATCHER))
            seen["audit"] = await until(
                operator, "[...document.querySelectorAll('#audit-rows li')].map(li => li.textContent).join('\\n')"
                ".includes('command line') && document.getElementById('audit-rows').innerText", 30,
                "the audit log shows the shell's change")  # fmt: skip
            seen["row_again"] = await until(
                operator,
                f"{row} && {row}.cells[1].textContent === 'active' && {row}.innerText",
                30,
                "the row shows the account active again",
            )
            assert await log_in(viewer, site + "/admin/", WATCHER, WATCHER_PASSWORD) == "forbidden"
            seen["again"] = await catalog_status(viewer)
        return seen

    seen = asyncio.run(operate())
    assert (seen["before"], seen["after"], seen["refresh"], seen["again"]) == (200, 401, 401, 200), seen
    assert "active" in seen["listed"] and "viewer" in seen["listed"] and "Deactivate" in seen["listed"]
    assert seen["playlist"] == 200
    assert seen["watching"].startswith(f"{WATCHER}\tNight watch\t"), seen["watching"]
    assert seen["watching_after"] is True  # the deactivation ended the playback with the login session
    assert "Activate" in seen["after_click"] and seen["message"].startswith(f"{WATCHER} is deactivated")
    assert seen["shell"][0] == 0 and f"{WATCHER} is active." in seen["shell"][1]
    assert seen["last"][0] == 2 and "last active operator" in seen["last"][1] and "Traceback" not in seen["last"][1]
    assert seen["nobody"][0] == 2 and "No account has the address nobody@example.com" in seen["nobody"][1]
    assert seen["list"][0] == 0 and WATCHER in seen["list"][1] and "1 of 1 account(s)." in seen["list"][1]
    lines = seen["audit"].splitlines()
    assert "command line" in lines[0] and lines[0].endswith(f"activated {WATCHER}"), lines
    assert lines[1].endswith(f"operator@example.com deactivated {WATCHER}"), lines
    assert (tmp_path / "accounts.png").stat().st_size > 1000
