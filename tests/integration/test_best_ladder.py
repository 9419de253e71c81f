"""First fast, then best (issue 35), through the real parts: a 68 s film on the S3 pipeline (two workers sharing
nothing but PostgreSQL, the broker and a SeaweedFS bucket) is made ready in fast H.264 parts; then its best
H.264 ladder (x264 slow, fMP4 `avc1`) and its AV1 ladder are made in parts over both workers, each scored from
the bucket. The best ladder takes the fast one's place in the master (the fast files stay); AV1, judged against
the fast renditions still, joins it. A viewer who started on the fast ladder plays on through the swap; one who
starts after plays the best ladder across its parts' joins. (The film, and the viewer who watched the swap,
are the `best_film` fixture's: tests/integration/test_s3_pipeline.py checks its AV1 parts in the bucket.)"""

from __future__ import annotations

import asyncio
import itertools
import re

import pytest

from ..support.browser import Browser, chromium_path, open_console, play, player_page, problems, until
from ..support.clips import audio_samples, video_timestamps
from ..support.watching import decode_url, fetch

pytestmark = pytest.mark.integration
browser = pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")

PARTS = 9  # 68 s in 8 s parts (the last 4 s)


def test_both_ladders_are_made_in_parts_over_both_workers_and_listed(s3_pipeline, best_film):
    video_id = best_film["id"]
    per_worker = [[], []]
    for ladder in ("avc", "av1"):  # every part once; a worker takes the next part as soon as it is free
        pattern = rf"video {video_id} {ladder} part (\d+) encoded"
        made = [sorted(int(p) for p in re.findall(pattern, w.output)) for w in s3_pipeline.workers]
        assert sorted(itertools.chain(*made)) == list(range(PARTS)), (ladder, made)
        per_worker = [mine + theirs for mine, theirs in zip(per_worker, made, strict=True)]
    assert all(per_worker), per_worker  # both workers made the film's further ladders
    final = best_film["final"]
    for r in final["renditions"]:  # the best ladder holds the fast one's quality in fewer bytes; AV1 too
        assert r["avc"]["listed"] and r["avc"]["quality"]["vmaf"] >= r["quality"]["vmaf"] - 1.0, r
        assert r["av1"]["listed"] and r["avc"]["average_bandwidth"] < r["bandwidth"], r
    assert final["renditions"][0]["avc"] == best_film["best"]["renditions"][0]["avc"]  # kept through AV1's report


def test_the_master_names_the_best_ladder_in_the_fast_ones_place_and_the_fast_files_stay(s3_pipeline, best_film):
    video_id = best_film["id"]
    hls_path = s3_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    stored = lambda name: b"".join(s3_pipeline.store.read(f"{hls_path}/{name}")).decode()  # noqa: E731
    master = stored("master.m3u8")
    variants = re.findall(r'^#EXT-X-STREAM-INF:.*CODECS="(\w{4})[^"]*".*\n(.+)$', master, re.MULTILINE)
    assert variants == [("avc1", "avc/480p/index.m3u8"), ("av01", "av1/480p/index.m3u8")], master
    assert re.findall(r"^480p/index.m3u8$", stored("master-fast.m3u8"), re.MULTILINE)  # the fast stage's master
    names = {key.removeprefix(f"{hls_path}/") for key in s3_pipeline.store.keys(f"{hls_path}/")}
    assert {"480p/index.m3u8", "480p/000.ts", "avc/480p/index.m3u8", "avc/480p/init-0008.mp4"} <= names
    assert {f"av1/480p/init-{p:04d}.mp4" for p in range(PARTS)} <= names
    client = s3_pipeline.client()
    assert fetch(client, f"/video/{video_id}/master-fast.m3u8")[0] == 404
    # the rendition's own playlist, where the existing frontend plays, names the best ladder's segments (signed
    # URLs of their objects), and plays whole in FFmpeg's HLS client across the parts' joins
    code, playlist = fetch(client, f"/video/{video_id}/480p/index.m3u8")
    assert code == 200 and b".ts" not in playlist and playlist.count(b".m4s") == 17, playlist
    assert playlist.count(b"#EXT-X-MAP:") == PARTS and b"/avc/480p/init-0000.mp4" in playlist, playlist
    cookie = next(c.value for c in client.cookies if c.name == "access_token")
    code, facts, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/480p/index.m3u8", cookie)
    assert code == 0 and facts.video_codec == "h264" and facts.has_audio and seconds == pytest.approx(68.0, abs=0.2)


@browser
def test_a_viewer_mid_film_plays_on_through_the_swap(best_film):
    viewer = best_film["viewer"]
    assert viewer["swapped_at"] is not None, viewer  # the best ladder was listed while they watched
    assert viewer["played"] > viewer["swapped_at"] + 4 and problems(viewer["errors"]) == [], viewer
    assert viewer["playing"]["codecs"].startswith("avc1"), viewer
    assert viewer["mainFragments"] and all(f.endswith(".ts") for f in viewer["mainFragments"]), viewer  # fast


@browser
def test_a_viewer_who_starts_after_plays_the_best_ladder_across_its_joins(
    s3_pipeline, frontend_site, best_film, media_files, tmp_path
):
    page = player_page(s3_pipeline, frontend_site, best_film["id"]) + "&noav1=1&rate=4"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "best.png", seconds=60, until=17.0))
    assert result["playing"]["codecs"].startswith("avc1"), result
    assert result["played"] > 17.0 and problems(result["errors"]) == [], result  # two joins, two inits
    assert result["mainFragments"] and all("/avc/480p/" in f and f.endswith(".m4s") for f in result["mainFragments"])
    copy = tmp_path / "copy"  # the bucket's best rendition, as FFmpeg's HLS client reads it: every frame once
    copy.mkdir()
    hls_path = s3_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=best_film["id"])
    for key in s3_pipeline.store.keys(f"{hls_path}/avc/480p/"):
        s3_pipeline.store.download(key, copy / key.rsplit("/", 1)[1])
    frames = video_timestamps(copy / "index.m3u8")
    assert len(frames) == 68 * 30 and all(b - a == 1 for a, b in itertools.pairwise(frames))
    assert audio_samples(copy / "index.m3u8") > 0


@browser
def test_operators_see_the_best_ladder_and_its_verdict_in_the_console(s3_pipeline, best_film, tmp_path):
    row = f"document.querySelector('tr[data-video-id=\"{best_film['id']}\"]')"

    async def read() -> dict:
        async with Browser(tmp_path / "profile") as chromium:
            assert await open_console(chromium, s3_pipeline.api) == "staff"
            line = f"{row}?.querySelector('.ladder[data-ladder=avc]')?.textContent"
            text = await until(chromium, line, 30, "the best ladder's line shows")
            drawn = await chromium.evaluate(f"{row}.querySelectorAll('svg.quality-chart g[data-ladder=avc] circle')"
                                            ".length")  # fmt: skip
            return {"text": text, "drawn": drawn}

    seen = asyncio.run(read())
    assert seen["text"].startswith("best H.264 ladder, VMAF mean at peak bitrate: 480p "), seen
    assert seen["text"].endswith("listed in place of the fast H.264 ladder"), seen
    assert seen["drawn"] == 1, seen  # its dot on the film's chart, beside H.264's and AV1's
