"""The AV1 ladder through the real parts (upload, broker, worker, FFmpeg with SVT-AV1, VMAF, the streaming
views, Chromium with hls.js): a film made in one pass gets its rungs in AV1 too, as fMP4; where each is
measured as good as its H.264 twin and smaller (a calm film), the master lists them with their codecs beside
the H.264 ones; where not (a fast pan at 1080p), the film keeps H.264 alone. The AV1 ladder is made once the
film is ready, in parts over the workers (its own FFmpeg runs); the film is then reported again, with it.
The rendition playlists the existing frontend plays stay H.264 in TS; FFmpeg's HLS client decodes every AV1
rendition whole; hls.js plays AV1 where the browser decodes it and H.264 where it does not."""

from __future__ import annotations

import asyncio
import re
import subprocess
import urllib.error

import pytest

from videoflix.core.containers import ffmpeg_exe

from ..support.browser import chromium_path, play, player_page, problems
from ..support.watching import fetch

pytestmark = pytest.mark.integration


#: what the status endpoint showed of each film's AV1 pass while it ran (`av1_progress`), by video id
MAKING: dict[int, list[dict]] = {}


def upload(pipeline, path, title: str) -> int:
    """Upload a film and wait until it is ready and its AV1 ladder has been made (its renditions name their
    AV1 twins), noting the pass's progress meanwhile (MAKING); its id."""
    client = pipeline.client()
    video = client.upload(path, {"title": title})
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 240)["status"] == "ready"
    pipeline.wait_for_ladder(client, video["id"], 240, MAKING.setdefault(video["id"], []))
    return video["id"]


@pytest.fixture(scope="module")
def av1_video(pipeline, media_files) -> int:
    return upload(pipeline, media_files["calm"], "Two codecs")


def content_type(client, path: str) -> tuple[int, str, bytes]:
    """GET with the client's cookies: (status, Content-Type, body)."""
    try:
        with client.opener.open(client.api + path, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", error.read()


def test_the_master_lists_the_av1_ladder_beside_the_h264_one(pipeline, av1_video):
    client = pipeline.client()
    code, master = fetch(client, f"/video/{av1_video}/master.m3u8")
    variants = re.findall(rb'^#EXT-X-STREAM-INF:.*CODECS="(\w{4})[^"]*".*\n(.+)$', master, re.MULTILINE)
    assert code == 200 and variants == [
        (b"avc1", b"480p/index.m3u8"), (b"avc1", b"720p/index.m3u8"),
        (b"av01", b"av1/480p/index.m3u8"), (b"av01", b"av1/720p/index.m3u8"),
    ], master  # fmt: skip
    assert re.search(rb'CODECS="av01\.0\.\d\dM\.08,mp4a\.40\.2"', master), master  # main profile, 8-bit, AAC
    bandwidths = [int(b) for b in re.findall(rb"[^-]BANDWIDTH=(\d+)", master)]
    assert bandwidths[2] < bandwidths[0] and bandwidths[3] < bandwidths[1], master  # fewer bits for the same rung

    # the frontend's own playlists are what they were: H.264 in MPEG-TS
    code, playlist = fetch(client, f"/video/{av1_video}/720p/index.m3u8")
    assert code == 200 and b"#EXT-X-MAP" not in playlist and re.search(rb"^000\.ts$", playlist, re.MULTILINE)


def test_the_av1_pass_shows_its_progress_on_the_ready_film_until_its_verdict(pipeline, av1_video):
    """The film is ready (100 %) while its AV1 ladder is made; the status endpoint shows the pass's share,
    and FFmpeg's speed and the time to go once it reports them; with the verdict, nothing of it."""
    making = MAKING[av1_video]
    assert making and all(0 <= seen["progress"] < 100 for seen in making), making
    assert [seen["progress"] for seen in making] == sorted(seen["progress"] for seen in making), making
    done = pipeline.client().status(av1_video)
    assert (done["status"], done["progress"], done["av1_progress"]) == ("ready", 100.0, None), done


def test_a_film_whose_av1_ladder_falls_short_keeps_h264_alone(pipeline, media_files, av1_video):
    """The fast pan's 1080p AV1 twin measures ~2 VMAF points below its H.264 one (tolerance 1: 1.9-2.5 in
    four runs by hand), but x264 with a VBV cap and frame threads is not deterministic: in two of eight runs
    through the stack both twins landed within the tolerance. The master follows the measured verdict
    either way: H.264 alone, nothing of AV1 kept, when any twin falls short (as it mostly does); every AV1
    twin listed when none does."""
    client = pipeline.client()
    busy = upload(pipeline, media_files["rush"], "Fast pan")
    code, master = fetch(client, f"/video/{busy}/master.m3u8")
    renditions = client.status(busy)["renditions"]
    twins = {r["name"]: r["av1"] for r in renditions}
    assert code == 200 and set(twins) == {"480p", "720p", "1080p"}, (code, twins)
    assert all("quality" in t for t in twins.values()), twins  # measured
    fit = all(t["fit"] for t in twins.values())
    assert all(t["listed"] == fit for t in twins.values()), twins  # all or nothing
    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=busy)
    if fit:
        assert master.count(b"\nav1/") == 3 and (output / "av1").exists(), master
    else:
        assert b"av01" not in master and b"av1/" not in master, master
        assert not (output / "av1").exists()  # nothing kept unnamed
        assert fetch(client, f"/video/{busy}/av1/480p/index.m3u8")[0] == 404
    # the calm film's twins fit, measured
    listed = {r["name"]: r["av1"] for r in client.status(av1_video)["renditions"]}
    assert all(t["listed"] and t["fit"] and t["quality"]["vmaf"] > 90 for t in listed.values()), listed


def test_the_av1_renditions_are_served_as_fmp4_and_decode_whole(pipeline, media_files, av1_video):
    client = pipeline.client()
    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=av1_video)
    for rung in ("480p", "720p"):
        code, playlist = fetch(client, f"/video/{av1_video}/av1/{rung}/index.m3u8")
        assert code == 200 and b"#EXT-X-PLAYLIST-TYPE:VOD" in playlist, playlist
        init = re.search(rb'^#EXT-X-MAP:URI="(init-\d+\.mp4)"$', playlist, re.MULTILINE)
        segments = re.findall(rb"^(\d{3})\.m4s$", playlist, re.MULTILINE)
        # made in parts (PART_SECONDS 8: the 5 s film is one), each part's init named before its segments
        assert init and init.group(1) == b"init-0000.mp4" and len(segments) == 2, playlist
        code, kind, body = content_type(client, f"/video/{av1_video}/av1/{rung}/{init.group(1).decode()}")
        assert code == 200 and kind == "video/mp4" and body[4:8] == b"ftyp" and b"av01" in body
        code, kind, body = content_type(client, f"/video/{av1_video}/av1/{rung}/{segments[0].decode()}.m4s")
        assert code == 200 and kind == "video/iso.segment" and body[4:8] == b"styp" and b"moof" in body[:512]

        # FFmpeg's HLS client decodes the whole rendition: every frame of the 5 s, 30 fps source, and its sound
        decoded = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(output / "av1" / rung / "index.m3u8"),
             "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert decoded.returncode == 0 and "Video: av1" in decoded.stderr, decoded.stderr[-2000:]
        frames = int(re.findall(r"frame=\s*(\d+)", decoded.stderr)[-1])
        assert abs(frames - 150) <= 1 and "Audio: aac" in decoded.stderr, decoded.stderr[-2000:]
    assert fetch(client, f"/video/{av1_video}/av1/1080p/index.m3u8")[0] == 404  # not on this film's ladder
    assert fetch(client, f"/video/{av1_video}/av1/720p/init.mp4")[0] == 404  # (a one-rung film's name)
    assert fetch(client, f"/video/{av1_video}/av1/720p/init_x.mp4")[0] == 404
    assert fetch(client, f"/video/{av1_video}/av1/720p/../720p/000.ts")[0] == 404


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("browser", ["as it is", "without AV1"])
def test_hls_js_plays_av1_where_the_browser_decodes_it(pipeline, frontend_site, av1_video, tmp_path, browser):

    page = player_page(pipeline, frontend_site, av1_video) + ("&noav1=1" if browser == "without AV1" else "")
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "av1.png", seconds=40, until=2.5))

    av1 = result["supports"]["av1"]
    assert result["supports"]["avc1"] and av1 == (browser == "as it is"), result["supports"]
    if browser == "as it is":  # Chromium decodes AV1 (dav1d): hls.js keeps both sets and starts with AV1
        assert len(result["levelList"]) == 4, result["levelList"]
        assert result["playing"]["codecs"].startswith("av01"), result
        assert result["mainFragments"] and all(f.endswith(".m4s") for f in result["mainFragments"]), result
    else:  # hls.js drops what the browser cannot decode and plays the H.264 ladder
        assert [level["codecs"][:4] for level in result["levelList"]] == ["avc1", "avc1"], result["levelList"]
        assert result["playing"]["codecs"].startswith("avc1"), result
        assert result["mainFragments"] and all(f.endswith(".ts") for f in result["mainFragments"]), result
    assert result["played"] > 2.5 and problems(result["errors"]) == [], result
