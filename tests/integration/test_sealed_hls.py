"""Encrypted HLS through the real parts (HLS_ENCRYPTION on: `sealed_pipeline`): a film made in parts over both
workers (its H.264 parts, then its AV1 parts), a short film made in one pass (then its AV1 ladder) and one
with three audio tracks are stored sealed, every segment noise without its key; their media playlists name
the keys, which the app gives to a viewer playing the film alone; the workers still measure their quality
(they read their own segments back clear); and hls.js plays them, the existing frontend's way and through the
master (AV1, sealed fMP4)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from videoflix.core.hls_keys import FilmKeys, keyed_playlist_name, sealed_name
from videoflix.core.models import Video, VideoStatus
from videoflix.mail_sink import text_of

from ..support.accounts import PASSWORD
from ..support.browser import Browser, chromium_path, log_in, play, player_page, problems, until
from ..support.stack import http
from ..support.watching import fetch, watch

pytestmark = pytest.mark.integration


def film_keys(line, video_id: int) -> FilmKeys:
    with line.engine.connect() as conn:
        seed, rotation = conn.exec_driver_sql(
            "SELECT seed, rotation FROM video_keys WHERE video_id = %(id)s", {"id": video_id}
        ).one()
    return FilmKeys(bytes(seed), rotation)


def clear(data: bytes, suffix: str) -> bool:
    """Whether a segment's bytes read as media: MPEG-TS packets, or fMP4 boxes."""
    if suffix == ".ts":
        return len(data) >= 376 and data[0] == data[188] == 0x47
    return data[4:8] in {b"styp", b"moof", b"sidx", b"ftyp"}


@pytest.mark.parametrize("kind", ["parts", "one pass", "tracks"])
def test_every_stored_segment_is_noise_without_its_key(sealed_pipeline, sealed_films, kind):
    line, video_id = sealed_pipeline, sealed_films[kind]
    keys = film_keys(line, video_id)
    assert keys.rotation == 2
    output = line.media / line.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    files = {path.relative_to(output).as_posix(): path for path in output.rglob("*") if path.is_file()}
    segments = [name for name in files if sealed_name(name)]
    wanted = {"480p", "audio"} if kind == "tracks" else {"480p", "av1"}  # (the alternate tracks sealed too)
    assert {name.split("/")[0] for name in segments} >= wanted, sorted(files)
    for name in segments:
        data, suffix = files[name].read_bytes(), files[name].suffix
        assert not clear(data, suffix), name
        assert clear(keys.open_named(name, data), suffix), name
    inits = [name for name in files if name.endswith(".mp4")]
    assert (kind == "tracks" or inits) and all(
        clear(files[name].read_bytes(), ".m4s") for name in inits
    )  # codec set-up, clear

    playlists = [name for name in files if keyed_playlist_name(name)]
    for name in playlists:
        text = files[name].read_text()
        count = len(re.findall(r"^[^#].*\.(?:ts|m4s)$", text, re.MULTILINE))
        named = re.findall(r'^#EXT-X-KEY:METHOD=AES-128,URI="((?:\.\./)+)key/(\d+)\.key"$', text, re.MULTILINE)
        # each key in turn (named again after an init segment, which is clear, if it falls inside a key's turn)
        assert list(dict.fromkeys(int(index) for _, index in named)) == list(range((count + 1) // 2)), (name, text)
        assert {up for up, _ in named} == {"../" * name.count("/")}  # /api/video/<id>/key/<n>.key from each
    assert "#EXT-X-KEY" not in files["master.m3u8"].read_text()


@pytest.mark.parametrize("kind", ["parts", "one pass"])
def test_the_workers_measure_a_sealed_films_quality_and_aim_its_av1_rate(sealed_pipeline, sealed_films, kind):
    """Scored, and listed: the AV1 ladder aimed (RATE_AIM) at the H.264 renditions' quality, per part over
    both workers or once for the film, each rung's CRFs in its verdict, and its measured VMAF within the
    verdict's tolerance of H.264's."""
    status = sealed_pipeline.client().status(sealed_films[kind])
    renditions = status["renditions"]
    assert all(r["quality"]["vmaf"] > 80 for r in renditions), renditions
    assert all(r["av1"]["listed"] for r in renditions), renditions
    assert all(r["av1"]["quality"]["vmaf"] >= r["quality"]["vmaf"] - 1.0 for r in renditions), renditions
    parts = 6 if kind == "parts" else 1  # (68 s in 12 s parts, each aimed on its own scenes)
    assert all(r["av1"]["crf"] and len(r["av1"]["crf"]) <= parts for r in renditions), renditions


def test_a_key_goes_to_the_viewer_who_plays_the_film(sealed_pipeline, sealed_films):
    line, video_id = sealed_pipeline, sealed_films["parts"]
    client = line.client()
    assert fetch(client, f"/video/{video_id}/key/0.key")[0] == 403  # nothing played yet in this login session
    assert fetch(client, f"/video/{video_id}/480p/index.m3u8")[0] == 200
    code, key = fetch(client, f"/video/{video_id}/key/3.key")
    assert code == 200 and key == film_keys(line, video_id).key(3)
    client.call("POST", "/logout/", b"{}", {"Content-Type": "application/json", "X-CSRFToken": client.csrf()})
    assert fetch(client, f"/video/{video_id}/key/3.key")[0] == 401


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize(("kind", "path"), [("parts", "480p/index.m3u8"), ("parts", ""), ("tracks", "")])
def test_hls_js_plays_a_sealed_film(sealed_pipeline, sealed_films, frontend_site, tmp_path, kind, path):
    """(The film made in one pass plays through nginx's signed links: test_signed_links_browser.py.)"""
    page = player_page(sealed_pipeline, frontend_site, sealed_films[kind]) + "&rate=4"
    page += f"&path={path}" if path else ""
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "sealed.png", seconds=60, until=17.0))
    assert (result["ended"] or result["currentTime"] > 17.0) and problems(result["errors"]) == [], result
    if kind != "tracks" and not path:  # through the master, Chromium picks the AV1 ladder: sealed fMP4
        assert result["playing"]["codecs"].startswith("av01") and result["tracks"] == ["audiovideo"], result
    else:
        assert result["tracks"] == ["audio", "video"], result


@pytest.fixture(scope="module")
def clear_film_sealed(pipeline, sealed_pipeline, media_files) -> tuple[int, str]:
    """A film made before HLS_ENCRYPTION was on (by the clear pipeline, its AV1 ladder listed), moved with its
    row into the sealed pipeline, whose workers seal it in the background: (its id there, its clear output)."""
    client = pipeline.client()
    made = client.upload(media_files["calm"], {"title": "Made clear"})["id"]
    assert watch(pipeline, client, made)[0]["status"] == "ready"
    pipeline.wait_for_ladder(client, made, 300)
    with pipeline.engine.connect() as conn:
        row = conn.execute(sa.select(Video).where(Video.id == made)).mappings().one()
    fields = {k: row[k] for k in ("title", "description", "category", "duration", "width", "height", "renditions")}
    with sealed_pipeline.engine.begin() as conn:
        video_id = conn.scalar(sa.insert(Video).values(status=VideoStatus.READY, source_path="gone", **fields)
                               .returning(Video.id))  # fmt: skip
        clear_output = f"videos/{video_id}/hls-clear"
        shutil.copytree(pipeline.media / row["hls_path"], sealed_pipeline.media / clear_output)
        conn.execute(sa.update(Video).where(Video.id == video_id).values(hls_path=clear_output))
    deadline = time.monotonic() + 60
    while sealed_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id) == clear_output:
        assert time.monotonic() < deadline, [w.output[-3000:] for w in sealed_pipeline.workers]
        time.sleep(0.5)
    return video_id, clear_output


def test_a_film_made_clear_is_sealed_in_the_background(sealed_pipeline, clear_film_sealed):
    line, (video_id, clear_output) = sealed_pipeline, clear_film_sealed
    keys = film_keys(line, video_id)
    output = line.media / line.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    old = line.media / clear_output
    segments = [p.relative_to(old).as_posix() for p in old.rglob("*") if sealed_name(p.relative_to(old).as_posix())]
    assert {name.split("/")[0] for name in segments} == {"480p", "720p", "av1"}, segments
    for name in segments:
        sealed, clear_bytes = (output / name).read_bytes(), (old / name).read_bytes()
        assert sealed != clear_bytes and keys.open_named(name, sealed) == clear_bytes
    assert "#EXT-X-KEY:METHOD=AES-128" in (output / "720p" / "index.m3u8").read_text()


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_plays_a_film_sealed_in_the_background(sealed_pipeline, clear_film_sealed, frontend_site, tmp_path):
    page = player_page(sealed_pipeline, frontend_site, clear_film_sealed[0]) + "&rate=4"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "sealed-later.png", seconds=60, until=17.0))
    assert (result["ended"] or result["currentTime"] > 17.0) and problems(result["errors"]) == [], result
    assert result["playing"]["codecs"].startswith("av01"), result


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_frontends_flow_plays_a_sealed_film(sealed_pipeline, sealed_films, mail_sink, frontend_site, tmp_path):
    """Register, activate through the mailed link, log in and play, as the existing frontend does (its calls,
    then hls.js from its origin with credentials on a rendition's playlist), a viewer and not an operator."""
    email = "sealed-viewer@example.com"
    body = {"email": email, "password": PASSWORD, "confirmed_password": PASSWORD, "privacy_policy": True}
    mail_sink.clear()
    assert http("POST", sealed_pipeline.api + "/register/", body)[0] == 201
    (mail,) = [m for m in mail_sink.wait_for(1, 30) if m["To"] == email]
    uid, token = re.search(r"activate\.html\?uid=([\w-]+)&token=([\w-]+)", text_of(mail)).groups()
    assert http("GET", f"{sealed_pipeline.api}/activate/{uid}/{token}/")[0] == 200
    query = {"api": sealed_pipeline.api + "/", "id": sealed_films["parts"], "email": email, "password": PASSWORD,
             "path": "480p/index.m3u8"}  # fmt: skip
    page = f"{frontend_site}/player.html?{urlencode(query)}"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "viewer.png", seconds=60, until=6.0))
    assert result["login"] == 200 and result["currentTime"] > 6.0 and problems(result["errors"]) == [], result


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_consoles_player_plays_a_sealed_film(sealed_pipeline, sealed_films, tmp_path):
    video_id = sealed_films["one pass"]

    async def preview() -> float:
        async with Browser(tmp_path / "profile-staff") as browser:
            console = sealed_pipeline.api.removesuffix("/api") + "/admin/"
            assert await log_in(browser, console, "operator@example.com", PASSWORD) == "staff"
            button = f"document.querySelector('tr[data-video-id=\"{video_id}\"] button[data-action=preview]')"
            await until(browser, f"!!{button}", 30, "the film's row shows")
            await browser.evaluate(f"{button}.click()")
            return await until(browser, "(t => t > 1.5 && t)(document.getElementById('player').currentTime)",
                               45, "the preview plays")  # fmt: skip

    assert asyncio.run(preview()) > 1.5
