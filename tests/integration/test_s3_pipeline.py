"""The pipeline across machines' worth of isolation: a web process and two workers that share nothing but
PostgreSQL, the broker and a SeaweedFS bucket (each its own MEDIA_ROOT, each worker its own scratch). Films go
in over HTTP, are read by the workers from the bucket, published there, served from it through the API (FFmpeg's
HLS client decodes them with the viewer's cookie), and deleting or retrying a video acts on its objects."""

from __future__ import annotations

import itertools
import re

import pytest

from ..support.clips import audio_gaps, audio_samples, make_subtitled, video_timestamps
from ..support.watching import decode_url, encoded_parts, watch

pytestmark = pytest.mark.integration


def local_media_files(pipeline) -> list[str]:
    """Media files anywhere in the stack's own folders (uploads in flight, scratch, media roots)."""
    found = []
    for pattern in ("*.ts", "*.m3u8", "source.*", "*.jpg", "*.vtt", "plan.json", "*.m4s", "init*.mp4", "*.nut"):
        found += [str(p) for p in pipeline.folder.rglob(pattern) if "faust-" not in str(p)]
    return found


def test_a_film_travels_through_the_bucket_only(s3_pipeline, media_files):
    client = s3_pipeline.client()
    video_id = client.upload(media_files["hd"], {"title": "Through the bucket"})["id"]
    status = s3_pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 180)
    assert (status["status"], status["error"], status["resolutions"]) == ("ready", None, ["480p", "720p"])
    for ladder in ("avc", "av1"):  # the workers' last steps, made in parts in either order: local copies go after
        s3_pipeline.wait_for_ladder(client, video_id, 240, ladder=ladder)

    hls_path = s3_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    keys = set(s3_pipeline.store.keys(f"videos/{video_id}/"))
    assert f"videos/{video_id}/source.mp4" in keys
    assert {f"{hls_path}/master.m3u8", f"{hls_path}/thumbnail.jpg", f"{hls_path}/720p/index.m3u8"} <= keys
    assert {f"{hls_path}/storyboard/plan.json", f"{hls_path}/storyboard/0.jpg"} <= keys  # seek-bar previews
    assert not [key for key in keys if "/frames-" in key]  # the frames were tiled, not published
    assert local_media_files(s3_pipeline) == []  # no worker or web folder keeps a copy
    with client.opener.open(f"{s3_pipeline.api}/video/{video_id}/storyboard.vtt") as response:
        track = response.read().decode()
    assert track.count("storyboard/0.jpg#xywh=") == 3  # 5 s, a preview every 2 s

    cookie = next(c.value for c in client.cookies if c.name == "access_token")
    for name, height in (("480p", 480), ("720p", 720)):
        code, facts, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/{name}/index.m3u8", cookie)
        assert code == 0 and facts.height == height and facts.has_audio
        assert seconds == pytest.approx(5.0, abs=0.2)
    code, _, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/master.m3u8", cookie)
    assert code == 0 and seconds == pytest.approx(5.0, abs=0.2)

    client.call("DELETE", f"/video/{video_id}/", headers={"X-CSRFToken": client.csrf()})
    assert list(s3_pipeline.store.keys(f"videos/{video_id}/")) == []


def test_a_failed_video_retried_after_its_source_is_repaired_becomes_ready(s3_pipeline, media_files):
    client = s3_pipeline.client()
    video_id = client.upload(media_files["corrupt"], {"title": "Second chance in the bucket"})["id"]
    failed = s3_pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)
    assert failed["status"] == "failed" and "could not be decoded" in failed["error"]
    source = s3_pipeline.scalar("SELECT source_path FROM videos WHERE id = :id", id=video_id)
    assert [key for key in s3_pipeline.store.keys(f"videos/{video_id}/")] == [source]  # no half output left
    s3_pipeline.store.put_file(source, media_files["small"])  # as after a storage repair

    client.call("POST", f"/video/{video_id}/retry/", headers={"X-CSRFToken": client.csrf()})
    final = s3_pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)
    assert (final["status"], final["error"], final["resolutions"]) == ("ready", None, ["480p"])


def test_a_long_film_is_made_in_parts_over_both_workers_through_the_bucket_alone(s3_pipeline, media_files, tmp_path):
    """Its parts encoded on both workers, each serving its own segments with the sound fetched from the
    bucket: playable while they work, then ready; the bucket holds exactly the served output (no `parts/`),
    no worker keeps a file, and the film decodes with every frame once and the sound without a gap."""
    client = s3_pipeline.client()
    subtitled = make_subtitled(tmp_path / "film.mkv", media_files["film"])  # its audio job extracts them
    video_id = client.upload(subtitled, {"title": "Spread through the bucket"})["id"]
    final, seen = watch(s3_pipeline, client, video_id)
    assert final["status"] == "ready", (final["error"], [w.output[-4000:] for w in s3_pipeline.workers])
    assert any(s["status"] == "playable" and s["progress"] < 100 for s in seen)
    assert all(r["quality"]["frames"] > 0 for r in final["renditions"]), final["renditions"]  # from the bucket
    per_worker = encoded_parts(s3_pipeline, video_id)
    assert all(per_worker) and sorted(itertools.chain(*per_worker)) == [-1, *range(9)], per_worker

    hls_path = s3_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    keys = sorted(s3_pipeline.store.keys(f"{hls_path}/"))
    names = [key.removeprefix(f"{hls_path}/") for key in keys]
    expected = [f"{r}/{n:03d}.ts" for r in ("480p", "720p") for n in range(18)]
    sheets = ["storyboard/plan.json", *(f"storyboard/{part * 1000}.jpg" for part in range(9))]  # one a part
    # the second audio track, an alternate rendition: its playlist and every segment it lists, from the bucket
    alternate = b"".join(s3_pipeline.store.read(f"{hls_path}/audio/1/index.m3u8")).decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in alternate
    track = ["audio/1/index.m3u8", *(f"audio/1/{n}" for n in re.findall(r"^\d{3}\.ts$", alternate, re.MULTILINE))]
    lengths = [float(x) for x in re.findall(r"^#EXTINF:([\d.]+)", alternate, re.MULTILINE)]
    assert len(track) == 1 + len(lengths) and sum(lengths) == pytest.approx(72.0, abs=0.1)
    assert sorted(names) == sorted(
        ["master.m3u8", "thumbnail.jpg", "480p/index.m3u8", "720p/index.m3u8", *expected, *sheets, *track]
    )
    assert local_media_files(s3_pipeline) == []  # every worker's scratch is empty again
    assert s3_pipeline.scalar("SELECT count(*) FROM video_parts WHERE video_id = :id", id=video_id) == 0
    tracks = client.call("GET", f"/video/{video_id}/subtitles/")
    assert [(t["language"], t["origin"]) for t in tracks] == [("de", "source"), ("en", "source"), ("fr", "source")]
    assert {f"videos/{video_id}/subtitles/{t['language']}.source.vtt" for t in tracks} <= set(
        s3_pipeline.store.keys(f"videos/{video_id}/subtitles/")
    )

    copy = tmp_path / "copy"  # the bucket's output, as a player reads it
    for key, name in zip(keys, names, strict=True):
        if name.startswith("storyboard/"):
            continue
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        s3_pipeline.store.download(key, copy / name)
    source = subtitled
    frames = video_timestamps(copy / "master.m3u8")
    assert len(frames) == 72 * 30 and all(b - a == 1 for a, b in itertools.pairwise(frames))
    assert abs(audio_samples(copy / "480p" / "index.m3u8") - audio_samples(source)) <= 2048
    assert audio_gaps(copy / "480p" / "index.m3u8") == []
    cookie = next(c.value for c in client.cookies if c.name == "access_token")
    code, facts, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/720p/index.m3u8", cookie)
    assert code == 0 and facts.height == 720 and facts.has_audio and seconds == pytest.approx(72.0, abs=0.2)
    # the master with its subtitles group still reads in FFmpeg's HLS client (it opens the WebVTT tracks too)
    code, facts, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/master.m3u8", cookie)
    assert code == 0 and facts.has_audio and seconds == pytest.approx(72.0, abs=0.2)


def test_a_long_films_av1_parts_travel_through_the_bucket_alone(s3_pipeline, best_film):
    """Its AV1 parts made on both workers, each taking the film's sound from the H.264 segments in the bucket
    and publishing its segments and init there; the last worker scores the ladder from the bucket, writes the
    film's master there with the AV1 variants and leaves no file of its own; the AV1 rendition decodes whole
    over HTTP. (The film's best H.264 ladder, made in parts too: tests/integration/test_best_ladder.py.)"""
    client, video_id, final = s3_pipeline.client(), best_film["id"], best_film["final"]
    assert all(r["av1"]["listed"] for r in final["renditions"]), final["renditions"]
    made = [
        int(p) for w in s3_pipeline.workers for p in re.findall(rf"video {video_id} av1 part (\d+) encoded", w.output)
    ]
    assert sorted(made) == list(range(9))

    hls_path = s3_pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    names = {key.removeprefix(f"{hls_path}/") for key in s3_pipeline.store.keys(f"{hls_path}/av1/")}
    assert names == {"av1/480p/index.m3u8", *(f"av1/480p/init-{p:04d}.mp4" for p in range(9)),
                     *(f"av1/480p/{n:03d}.m4s" for n in range(17))}  # fmt: skip
    master = b"".join(s3_pipeline.store.read(f"{hls_path}/master.m3u8")).decode()
    assert re.search(r'CODECS="av01[^"]*"[^\n]*\nav1/480p/index.m3u8', master), master
    assert local_media_files(s3_pipeline) == []  # every worker's scratch is empty again
    cookie = next(c.value for c in client.cookies if c.name == "access_token")
    code, facts, seconds = decode_url(f"{s3_pipeline.api}/video/{video_id}/av1/480p/index.m3u8", cookie)
    assert code == 0 and facts.video_codec == "av1" and facts.has_audio and seconds == pytest.approx(68.0, abs=0.2)
