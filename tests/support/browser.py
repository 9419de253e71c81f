"""Headless Chromium (Debian's package) driven over the DevTools protocol with aiohttp (which Faust brings)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlencode

from .accounts import PASSWORD

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
]  # fmt: skip


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One browser with a fresh profile (no cookies) and its first tab."""

    def __init__(self, profile: Path, flags: tuple[str, ...] = ()):
        # port 0: Chromium binds a free port itself and names it in DevToolsActivePort (a port picked here
        # could be taken by another process before Chromium binds it: the endpoint then never came up, in CI)
        self.active_port = profile / "DevToolsActivePort"
        self.active_port.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [chromium_path(), *FLAGS, *flags, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.ids = itertools.count(1)
        self.ws = None
        self.session = None

    def _page_ws_url(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.proc.returncode} before its DevTools endpoint came up")
            try:
                port = int(self.active_port.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    pages = [t for t in json.load(response) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (OSError, ValueError, IndexError):
                pass  # (not written yet, or written in part)
            time.sleep(0.2)
        raise TimeoutError("Chromium's DevTools endpoint did not come up")

    async def __aenter__(self) -> Browser:
        import aiohttp

        url = await asyncio.get_running_loop().run_in_executor(None, self._page_ws_url)
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, max_msg_size=64 * 1024 * 1024)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()
        await self.session.close()
        self.proc.terminate()
        self.proc.wait(10)

    async def call(self, method: str, **params):
        call_id = next(self.ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def goto(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str, await_promise: bool = False):
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise
        )
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        data = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(data["data"]))


def player_page(pipeline, site: str, video_id: int, login: bool = True) -> str:
    """The player page (served from the frontend's origin) for a video, logging in as the operator first."""
    query = {"api": pipeline.api + "/", "id": video_id}
    if login:
        query.update(email="operator@example.com", password=PASSWORD)
    return f"{site}/player.html?{urlencode(query)}"


async def play(
    url: str, profile: Path, screenshot: Path, seconds: float = 30.0, until: float = 2.5, flags: tuple[str, ...] = ()
) -> dict:
    """Open the player page; wait until playback passes `until` seconds of the film (`played`, from where
    its media timeline starts) or ends (or a fatal error, or `seconds`)."""
    async with Browser(profile, flags) as browser:
        await browser.goto(url)
        deadline = time.monotonic() + seconds
        result = {}
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            result = await browser.evaluate("window.result") or {}
            fatal = any(e.get("fatal") or "play" in e or "script" in e for e in result.get("errors", []))
            if result.get("played", 0) > until or result.get("ended") or fatal:
                break
        await browser.screenshot(screenshot)
        return result


async def watch_through_the_swap(page: str, profile: Path, ready_for_best: Callable[[], bool]) -> dict:
    """A viewer who opens the film before its best ladder is listed (at half speed, so the film outlasts the
    ladder's making) and plays on until 4 s after the master changed: what the player saw, with `swapped_at`
    (the film's second the viewer was at then)."""
    async with Browser(profile) as browser:
        await browser.goto(page)
        result: dict = {}
        deadline, swapped_at = time.monotonic() + 300, None
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            result = await browser.evaluate("window.result") or {}
            played = result.get("played", 0)
            if result.get("ended") or any(e.get("fatal") for e in result.get("errors", [])):
                break
            if swapped_at is None and played > 0 and await asyncio.to_thread(ready_for_best):
                swapped_at = played
            if swapped_at is not None and played > swapped_at + 4:
                break
        return {**result, "swapped_at": swapped_at}


#: hls.js reports these as non-fatal media "errors" while its gap controller does its job: H.264 with B-frames in
#: MPEG-TS starts its first frame a few frames after 0, and hls.js jumps such sub-0.1 s holes by design; and
#: while a playlist grows, a fragment loaded again (a level switch at the live edge) may add nothing to what
#: is buffered, which hls.js counts and moves on from (overlaps in our output are ruled out by the tests that
#: decode every frame's timestamp)
GAP_NOTICES = {"bufferSeekOverHole", "bufferNudgeOnStall", "bufferAppendNoProgress"}


def waited_for_data(error: dict) -> bool:
    """A stall with nothing buffered past the range the playhead is in (player.html records the ranges): the
    player waited for data, at the edge of a growing playlist or on a machine too busy to load or decode in
    time (2 cores shared with the workers), which says nothing about the output. A hole in the output leaves a
    later range buffered (beyond hls.js's `maxBufferHole`, 0.1 s), and stays a problem."""
    if error.get("details") != "bufferStalledError" or "buffered" not in error:
        return False
    return not any(start > error["at"] + 0.1 for start, _ in error["buffered"])


def problems(errors: list[dict]) -> list[dict]:
    """hls.js errors that mean something went wrong: fatal ones, network ones, and media ones beyond gap notices
    and waits for data."""
    return [
        e for e in errors
        if e.get("fatal") or e.get("type") != "mediaError"
        or (e.get("details") not in GAP_NOTICES and not waited_for_data(e))
    ]  # fmt: skip


def plays_through_tls(page: str, tmp_path: Path, name: str) -> dict:
    """Play `page` whose media comes from the test's nginx (self-signed certificate): logged in, both
    renditions listed in both ladders, playback past 2.5 s with no hls.js problem. The result, for more checks."""
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / f"{name}.png",
                              flags=("--ignore-certificate-errors",)))  # fmt: skip
    assert result["login"] == 200 and result["levels"] == 4
    assert result["played"] > 2.5 and problems(result["errors"]) == [], result
    return result


def js_fixed(value: float, digits: int = 1) -> str:
    """`value.toFixed(digits)` as a browser writes it: the decimal nearest the float's exact value, a tie going
    up (Python's `f"{value:.1f}"` sends an exact tie such as 95.25 to the even digit: 95.2, where the console
    shows 95.3)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


async def until(browser: Browser, expression: str, timeout: float, what: str):
    """Evaluate `expression` until it is truthy (a page that is navigating answers nothing meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = await browser.evaluate(expression)
        except RuntimeError:
            value = None
        if value:
            return value
        await asyncio.sleep(0.3)
    text = await browser.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
    raise AssertionError(f"{what}: not within {timeout} s. The page says:\n{text}")


async def log_in(browser: Browser, url: str, email: str, password: str) -> str:
    await browser.goto(url)
    assert await until(browser, "document.readyState === 'complete' && document.body.dataset.state", 30,
                       "the page loads") == "anonymous"  # fmt: skip
    await browser.evaluate(
        f"""(() => {{ const form = document.getElementById('login-form');
        form.elements.email.value = {json.dumps(email)}; form.elements.password.value = {json.dumps(password)};
        form.requestSubmit(); }})()"""
    )
    return await until(
        browser, "document.readyState === 'complete' && document.body.dataset.state !== 'anonymous' "
        "&& document.body.dataset.state", 30, "the page after login")  # fmt: skip


async def open_console(browser: Browser, api: str) -> str:
    """The operators' console of the API at `api`, logged in as the pipeline's operator, on a screen with
    room for the form and the table (the screenshots'); the page's state after login."""
    await browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=1100, deviceScaleFactor=1,
                       mobile=False)  # fmt: skip
    return await log_in(browser, api.removesuffix("/api") + "/admin/", "operator@example.com", PASSWORD)
