"""The operators' console in a real browser (headless Chromium) against the whole running system: log in as
staff, upload a clip through the form (tus), watch it reach `ready`, play it, edit its title, delete it and
check its files are gone; an account without operator rights sees 403. Screenshots of each step are saved
under the test's tmp dir."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from ..support.browser import Browser, chromium_path, js_fixed, log_in, open_console, until
from ..support.stack import VIDEOFLIX

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"),
]

VIEWER_PASSWORD = "Just-watching-42"


#: the console's fetch, answering the video list as it would while an HEVC ladder is made beside the AV1 one
#: (its progress under ladder_progress, its twin in each rated rendition) and the film's speech is heard for
#: its automatic captions; `%d`: the video
HEVC_UNDER_WAY = """(() => {
  window.realFetch = window.fetch;
  window.fetch = async (url, init) => {
    const response = await window.realFetch(url, init);
    if (!String(url).includes('/admin/videos/?') || !response.ok) return response;
    const list = await response.json();
    for (const video of list.filter((v) => v.id === %d)) {
      video.ladder_progress = { ...video.ladder_progress, hevc: { progress: 42.5, speed: 1.5, eta_seconds: 120 } };
      video.captions = { progress: 55.5, parts: 9, parts_done: 5, speed: 12.5, eta_seconds: 30 };
      for (const r of video.renditions.filter((r) => r.quality)) {
        r.hevc = { quality: { vmaf: r.quality.vmaf - 0.25 }, bandwidth: Math.round(r.bandwidth * 1.1), fit: false,
                   listed: false };
      }
    }
    return new Response(JSON.stringify(list), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
})()"""


def mbits(bits_per_second: int) -> str:
    """A bitrate as the console writes it."""
    return f"{bits_per_second / 1e6:.2f} Mbit/s"


def row(video_id: int, expression: str) -> str:
    """`expression` about the table row of `video_id` (`row`, null when there is none)."""
    find = f"document.querySelector('tr[data-video-id=\"{video_id}\"]')"
    return f"(() => {{ const row = {find}; return {expression}; }})()"


async def click(browser: Browser, video_id: int, action: str) -> None:
    clicked = await browser.evaluate(row(video_id, f"row && (row.querySelector('button[data-action={action}]')"
                                                   " || {click() { return false; }}).click() !== false"))  # fmt: skip
    assert clicked, f"no {action} button for video {video_id}"


async def upload_through_form(browser: Browser, clip: Path, title: str) -> int:
    """Fill the upload form, pick the file as a user's file picker would, submit; the new video's id."""
    await browser.evaluate(f"""(() => {{ const form = document.getElementById('upload-form');
        form.elements.title.value = {json.dumps(title)}; form.elements.category.value = 'Test'; }})()""")
    picker = "document.querySelector('#upload-form input[type=file]')"
    found = await browser.call("Runtime.evaluate", expression=picker)
    await browser.call("DOM.setFileInputFiles", files=[str(clip)], objectId=found["result"]["objectId"])
    await browser.evaluate("document.getElementById('upload-form').requestSubmit()")
    said = "document.getElementById('message').textContent"
    message = await until(browser, f"/Uploaded/.test({said}) && {said}", 60, "the upload ends")
    return int(re.search(r"video (\d+)", message).group(1))


async def watch(browser: Browser, video_id: int, final: str, timeout: float = 240) -> set[str]:
    """Follow the video's row (the table polls the API) until its status is `final`; the statuses seen."""
    statuses = set()
    deadline = time.monotonic() + timeout
    while (status := await browser.evaluate(row(video_id, "row && row.dataset.status"))) != final:
        statuses.add(status)
        passing = {None, "uploaded", "processing", "playable", "ready", "failed"}  # `playable`: first segments out
        assert time.monotonic() < deadline and status in passing - {"ready" if final == "failed" else "failed"}, (
            status, statuses)  # fmt: skip
        await asyncio.sleep(0.3)
    return statuses


async def operate(pipeline, clip: Path, shots: Path) -> dict:
    """The whole staff journey; returns what the test checks afterwards."""
    seen: dict = {}
    async with Browser(shots / "profile-staff") as browser:
        state = await open_console(browser, pipeline.api)
        assert state == "staff"
        await browser.screenshot(shots / "1-console.png")

        seen["video_id"] = video_id = await upload_through_form(browser, clip, "Console clip")
        seen["upload_progress"] = await browser.evaluate("document.getElementById('upload-progress').value")
        seen["upload_text"] = await browser.evaluate("document.getElementById('upload-text').textContent")
        await browser.screenshot(shots / "2-uploaded.png")

        # the table follows the job (polling) until the video is ready
        seen["statuses"] = await watch(browser, video_id, "ready")
        seen["quality"] = await until(browser, row(video_id, "row && row.querySelector('.quality')?.textContent"),
                                      15, "the measured quality shows")  # fmt: skip
        # the AV1 ladder comes after the film is ready (its own FFmpeg run): the row shows it being made, then
        # its verdict
        av1 = "row.querySelector('.ladder[data-ladder=av1]')"
        making = f"row.querySelector('.ladder-progress[data-ladder=av1]')?.textContent || ({av1} && 'done unseen')"
        seen["av1_making"] = await until(browser, row(video_id, f"row && ({making})"), 180, "the AV1 pass shows")
        seen["av1"] = await until(browser, row(video_id, f"row && {av1}?.textContent"), 180,
                                  "the AV1 ladder shows")  # fmt: skip
        status = pipeline.client().status(video_id)
        seen["renditions"], seen["stored_bytes"] = status["renditions"], status["stored_bytes"]
        # the film's bitrate against quality: a line per ladder, a dot per rendition
        seen["chart"] = await browser.evaluate(
            row(
                video_id,
                """Object.fromEntries(Array.from(
            row.querySelectorAll('svg.quality-chart g[data-ladder]'), (g) => [g.dataset.ladder, Array.from(
                g.querySelectorAll('circle'),
                (c) => [c.dataset.rung, Number(c.dataset.vmaf), Number(c.dataset.bits)])]))
        """,
            )
        )
        # the film at a glance: its thumbnail (loaded through the app), its length and size, its views
        seen["thumbnail"] = await until(browser, row(video_id, "row && row.querySelector('img.thumb')?.naturalWidth"),
                                        15, "the thumbnail shows")  # fmt: skip
        seen["facts"] = await browser.evaluate(row(video_id, "row.querySelector('.facts').textContent"))
        await browser.screenshot(shots / "3-ready.png")
        # any further ladder is shown as AV1 is, by its name: the list answers as it would with HEVC being made
        # (the session's workers make AV1 alone; the status of both is tested in tests/functional)
        await browser.evaluate(HEVC_UNDER_WAY % video_id)
        hevc = "row.querySelector('.ladder-progress[data-ladder=hevc]')?.textContent"
        seen["hevc_making"] = await until(browser, row(video_id, f"row && {hevc}"), 15, "the HEVC ladder shows")
        seen["captions_making"] = await browser.evaluate(
            row(video_id, "row.querySelector('.captions-progress')?.textContent")
        )
        seen["hevc"] = await browser.evaluate(
            row(video_id, "row.querySelector('.ladder[data-ladder=hevc]')?.textContent")
        )
        await browser.evaluate("window.fetch = window.realFetch")

        # preview: hls.js plays it in the dialog
        await click(browser, video_id, "preview")
        seen["played"] = await until(browser, "(t => t > 1.5 && t)(document.getElementById('player').currentTime)",
                                     45, "the preview plays")  # fmt: skip
        await browser.screenshot(shots / "4-preview.png")
        await browser.evaluate("document.getElementById('player-close').click()")

        # edit the title in the dialog
        await click(browser, video_id, "edit")
        await browser.evaluate("""(() => { const form = document.getElementById('edit-form');
            form.elements.title.value = 'Renamed in the console'; form.requestSubmit(); })()""")
        renamed = "row && row.querySelector('.title').textContent === 'Renamed in the console'"
        await until(browser, row(video_id, renamed), 15, "the table shows the new title")
        await browser.screenshot(shots / "5-edited.png")
        seen["folder_before_delete"] = (pipeline.media / "videos" / str(video_id)).exists()

        # delete (the confirmation is accepted)
        await browser.evaluate("window.confirm = () => true")
        await click(browser, video_id, "delete")
        await until(browser, row(video_id, "row === null"), 15, "the row disappears")
        seen["message"] = await browser.evaluate("document.getElementById('message').textContent")
        await browser.screenshot(shots / "6-deleted.png")
    return seen


def test_staff_upload_watch_play_edit_and_delete_in_the_console(pipeline, media_files, tmp_path):
    seen = asyncio.run(operate(pipeline, media_files["hd"], tmp_path))

    video_id = seen["video_id"]
    assert seen["upload_progress"] == 100 and "(100%)" in seen["upload_text"]
    assert seen["played"] > 1.5
    # each rendition's VMAF (mean and 5th percentile) shown as the status endpoint reported it
    rated = [r for r in seen["renditions"] if "quality" in r]
    assert [r["name"] for r in rated] == ["480p", "720p"], seen["renditions"]
    for r in rated:
        assert r["quality"]["vmaf"] > 80 and not r["quality"]["below_floor"], r
        shown = (f" {r['name']} {js_fixed(r['quality']['vmaf'])} / {js_fixed(r['quality']['vmaf_p5'])}"
                 f" at {mbits(r['bandwidth'])}")  # fmt: skip
        assert shown in seen["quality"], seen["quality"]
    # named, with its units
    assert seen["quality"].startswith("H.264, VMAF mean / 5th percentile at peak bitrate:"), seen["quality"]
    assert seen["chart"]["h264"] == [[r["name"], r["quality"]["vmaf"], r["bandwidth"]] for r in rated]
    assert seen["chart"]["av1"] == [[r["name"], r["av1"]["quality"]["vmaf"], r["av1"]["bandwidth"]] for r in rated]
    # the AV1 ladder while it was made (its share; FFmpeg's speed and the time to go once it reports them),
    # then its VMAF per rung, and the choice
    assert re.fullmatch(r"AV1 ladder +\d+(\.\d)?%( · .+)?", seen["av1_making"]), seen["av1_making"]  # (+ its bar)
    twins = [r["av1"] for r in rated]
    scores = " · ".join(f"{r['name']} {js_fixed(r['av1']['quality']['vmaf'])} at {mbits(r['av1']['bandwidth'])}"
                        for r in rated)  # fmt: skip
    assert seen["av1"].startswith(f"AV1 ladder, VMAF mean at peak bitrate: {scores}: "), seen["av1"]
    if twins[0]["listed"]:
        assert seen["av1"].endswith(": listed"), seen["av1"]
    else:  # each rung that kept the ladder out is named, with why
        assert ": not listed (H.264 alone): " in seen["av1"], seen["av1"]
        for r in rated:
            assert (f"{r['name']} scores" in seen["av1"] or f"{r['name']} is not smaller" in seen["av1"]) != r["av1"][
                "fit"
            ], seen["av1"]
    assert seen["hevc_making"] == "HEVC ladder  42.5% · about 2 min left · 1.5\u00d7 realtime", seen["hevc_making"]
    assert seen["captions_making"] == (
        "Automatic captions  55.5% · 5 of 9 parts · about 30 s left · 12.5\u00d7 realtime"
    ), seen["captions_making"]
    assert seen["hevc"] == "HEVC ladder, VMAF mean at peak bitrate: " + " · ".join(
        f"{r['name']} {js_fixed(r['quality']['vmaf'] - 0.25)} at {mbits(round(r['bandwidth'] * 1.1))}" for r in rated
    ) + ": not listed (H.264 alone): " + "; ".join(f"{r['name']} is not smaller than H.264's" for r in rated), seen[
        "hevc"
    ]
    assert seen["thumbnail"] > 0
    # its size in the store, measured when it was reported ready (and again when its AV1 ladder joined)
    assert seen["stored_bytes"] > 100_000
    assert re.fullmatch(r"0:\d\d · \d+\u00d7\d+ · [\d.]+ (kB|MB) stored · 0 views", seen["facts"]), seen["facts"]
    assert seen["folder_before_delete"] and not (pipeline.media / "videos" / str(video_id)).exists()
    assert pipeline.scalar("SELECT count(*) FROM videos WHERE id = :id", id=video_id) == 0
    assert "was deleted" in seen["message"]
    assert not list((pipeline.media / "uploads").glob("tus-*"))
    for name in ("1-console", "2-uploaded", "3-ready", "4-preview", "5-edited", "6-deleted"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_an_account_without_operator_rights_sees_403(pipeline, tmp_path):
    made = pipeline.run([*VIDEOFLIX, "user", "create", "viewer@example.com", "--password", VIEWER_PASSWORD,
                         "--ini", str(pipeline.folder / "development.ini")], "user-create-viewer")  # fmt: skip
    assert made.proc.wait(60) == 0, made.output

    async def visit() -> dict:
        async with Browser(tmp_path / "profile-viewer") as browser:
            state = await log_in(browser, pipeline.api.removesuffix("/api") + "/admin/", "viewer@example.com",
                                 VIEWER_PASSWORD)  # fmt: skip
            result = {
                "state": state,
                "status": await browser.evaluate("performance.getEntriesByType('navigation')[0].responseStatus"),
                "text": await browser.evaluate("document.body.innerText"),
                "api": await browser.evaluate("fetch('/api/admin/videos/').then(r => r.status)", await_promise=True),
            }
            await browser.screenshot(tmp_path / "forbidden.png")
            return result

    result = asyncio.run(visit())
    assert (result["state"], result["status"], result["api"]) == ("forbidden", 403, 403)
    assert "Not an operator" in result["text"] and "Upload a film" not in result["text"]
    assert (tmp_path / "forbidden.png").stat().st_size > 1000


def test_a_failed_video_shows_its_reason_and_is_retried_from_the_console(pipeline, media_files, tmp_path):
    async def journey() -> dict:
        async with Browser(tmp_path / "profile") as browser:
            await open_console(browser, pipeline.api)
            video_id = await upload_through_form(browser, media_files["corrupt"], "Broken in the console")
            await watch(browser, video_id, "failed", 120)
            reason = await browser.evaluate(row(video_id, "row.querySelector('.reason').textContent"))
            advice = await browser.evaluate(row(video_id, "row.querySelector('.advice')?.textContent"))
            # the service panel counts it among the day's failures, with its reason and the same advice
            failure = await until(browser, "Array.from(document.querySelectorAll('#failure-rows li'), (li) => "
                                  "li.textContent).find((text) => text.startsWith('Broken in the console'))", 15,
                                  "the panel lists the failure")  # fmt: skip
            await browser.screenshot(tmp_path / "failed.png")
            attempts = pipeline.scalar("SELECT count(*) FROM outbox WHERE key = :key", key=str(video_id))
            await click(browser, video_id, "retry")
            said = "document.getElementById('message').textContent"
            message = await until(browser, f"/queued again/.test({said}) && {said}", 15, "the retry answer")
            await watch(browser, video_id, "failed", 120)  # the same file fails again, for the same reason
            requeued = pipeline.scalar("SELECT count(*) FROM outbox WHERE key = :key", key=str(video_id))
            return {"reason": reason, "advice": advice, "failure": failure, "message": message,
                    "events": (attempts, requeued)}  # fmt: skip

    seen = asyncio.run(journey())
    assert "could not be decoded" in seen["reason"]
    # what to do, in words: this file fails the same way however often it is retried
    assert seen["advice"].startswith("What to do: Play the file on a computer"), seen["advice"]
    assert "Retrying the same file fails the same way." in seen["advice"]
    assert seen["reason"] in seen["failure"] and seen["advice"] in seen["failure"], seen["failure"]
    assert "Broken in the console" in seen["message"]
    assert seen["events"][1] == seen["events"][0] + 1  # the retry went through the outbox
    assert (tmp_path / "failed.png").stat().st_size > 1000


def test_operators_manage_subtitles_and_see_storyboard_previews_in_the_console(pipeline, media_files, tmp_path):
    """Add a subtitle file through the console's Subtitles dialog, see it listed, remove it; the preview's seek
    bar shows the storyboard's tile for the moment under the pointer (the sheet really loads)."""
    client = pipeline.client()
    video_id = client.upload(media_files["hd"], {"title": "Previews and subtitles"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 180)["status"] == "ready"
    subtitle = tmp_path / "german.srt"
    subtitle.write_text("1\n00:00:01,000 --> 00:00:02,000\nHallo\n")

    async def journey() -> dict:
        seen: dict = {}
        async with Browser(tmp_path / "profile") as browser:
            await open_console(browser, pipeline.api)
            await until(browser, row(video_id, "row !== null"), 30, "the video is listed")

            await click(browser, video_id, "subtitles")
            await browser.evaluate("document.getElementById('subtitle-form').elements.language.value = 'de'")
            found = await browser.call("Runtime.evaluate", expression="document.querySelector('#subtitle-form "
                                       "input[type=file]')")  # fmt: skip
            await browser.call("DOM.setFileInputFiles", files=[str(subtitle)], objectId=found["result"]["objectId"])
            await browser.evaluate("document.getElementById('subtitle-form').requestSubmit()")
            listed = "document.querySelector('#subtitle-rows tr[data-language=de]')"
            seen["row"] = await until(browser, f"{listed} && {listed}.innerText", 15, "the track is listed")
            seen["api"] = [t["language"] for t in client.call("GET", f"/video/{video_id}/subtitles/")]
            await browser.screenshot(tmp_path / "subtitles.png")
            await browser.evaluate(f"{listed}.querySelector('button[data-action=remove-subtitles]').click()")
            await until(browser, f"!{listed} && !document.getElementById('subtitles-empty').hidden", 15,
                        "the track is removed")  # fmt: skip
            seen["after"] = client.call("GET", f"/video/{video_id}/subtitles/")
            await browser.evaluate("document.getElementById('subtitles-close').click()")

            await click(browser, video_id, "preview")
            await until(browser, "!document.getElementById('scrubber').hidden", 30, "the storyboard loads")
            await browser.evaluate("""(() => { const bar = document.getElementById('seek');
                const box = bar.getBoundingClientRect();
                bar.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.left + box.width / 2,
                                                               clientY: box.top + box.height / 2})); })()""")
            preview = await until(browser, """(() => { const box = document.getElementById('seek-preview');
                return box.classList.contains('showing') && {image: box.style.backgroundImage,
                  position: box.style.backgroundPosition, time: Number(box.dataset.time)}; })()""", 10,
                "the preview shows")  # fmt: skip
            seen["preview"] = preview
            url = re.search(r'url\("(.+)"\)', preview["image"]).group(1)
            seen["sheet_width"] = await browser.evaluate(
                f"new Promise(done => {{ const image = new Image(); image.onload = () => done(image.naturalWidth);"
                f" image.onerror = () => done(0); image.src = {json.dumps(url)}; }})",
                await_promise=True,
            )
            await browser.screenshot(tmp_path / "storyboard.png")
        return seen

    seen = asyncio.run(journey())
    assert "de" in seen["row"] and "Deutsch" in seen["row"] and "an upload" in seen["row"]
    assert seen["api"] == ["de"] and seen["after"] == []
    assert seen["preview"]["time"] == pytest.approx(2.5, abs=0.3)  # the middle of the 5 s film's bar
    assert f"/api/video/{video_id}/storyboard/0.jpg" in seen["preview"]["image"]
    assert seen["preview"]["position"] == "-160px 0px"  # the second preview (2-4 s) of the first sheet
    assert seen["sheet_width"] == 5 * 160  # five previews a row
