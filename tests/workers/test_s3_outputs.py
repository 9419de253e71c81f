"""The transcode agent with the S3 backend, on a real SeaweedFS: the source is read from the bucket (a signed
URL, never a local copy), the output is made in the worker's scratch folder and published to the bucket as
it grows, the database hears of it only once the store has it, and nothing stays in scratch."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest

from stream_workers import db, film_keys, hls, hls_output, jobs, storage
from stream_workers.agents import transcode
from stream_workers.app import app
from stream_workers.records import VideoProcessed
from videoflix.core import events
from videoflix.core.hls_keys import FilmKeys, sealed_name
from videoflix.core.storage.config import StorageConfig
from videoflix.core.storage.s3 import S3Storage

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY
from ..support.clips import CALM, make_clip
from ..support.fakes import gone
from ..support.part_agent import run_parts

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_store(monkeypatch, tmp_path, seaweedfs, bucket) -> S3Storage:
    config = StorageConfig("s3", seaweedfs.endpoint_url, bucket, S3_ACCESS_KEY, S3_SECRET_KEY)
    settings = dataclasses.replace(
        app.settings, storage=config, scratch=tmp_path / "scratch", media_root=tmp_path / "no-media",
        progress_interval=0.0, x264_preset="slower",  # slow enough to be watched while it runs
    )  # fmt: skip
    monkeypatch.setattr(app, "settings", settings)
    return S3Storage(seaweedfs.client(), bucket)


@pytest.fixture
def s3_worker(s3_store, agent_topics):
    """The transcode agent on the bucket, the database faked (every video waiting)."""
    return s3_store, agent_topics


@pytest.fixture
def s3_film(s3_store, plan_db, fake_topics, monkeypatch, tmp_path):
    """A film's way through both agents on the bucket, the database real, the topics faked: `make(clip)` stores
    the clip as the video's source and runs its upload through the transcode agent, then applies its ready
    report (as the results agent does) and returns it; `parts()` runs the jobs queued on the part topic."""
    monkeypatch.setattr(jobs, "deleted", gone({}))
    video = plan_db

    def make(seconds: float = 5, **settings) -> VideoProcessed:
        monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, x264_preset="veryfast", **settings))
        clip = make_clip(tmp_path / f"calm-{video}.mp4", seconds=seconds, size="1280x720", rate=30, scene=CALM)
        s3_store.put_file(f"videos/{video}/source.mp4", clip)
        asyncio.run(transcode.handle(events.uploaded(video, f"videos/{video}/source.mp4")))
        ready = fake_topics["processed"].sent[-1][1]
        assert ready.status == "ready" and db.apply_processed(ready), ready
        return ready

    return SimpleNamespace(video=video, store=s3_store, topics=fake_topics, make=make,
                           parts=lambda: run_parts(fake_topics["ladder_parts"].sent))  # fmt: skip


def test_a_job_reads_from_the_bucket_and_publishes_there_as_it_grows(s3_worker, monkeypatch, tmp_path):
    bucket, topics = s3_worker
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, av1_ladder=False))  # (H.264's job alone)
    clip = make_clip(tmp_path / "clip.mp4", seconds=12, size="1280x720")
    bucket.put_file("videos/21/source.mp4", clip)
    inputs, announced = [], []
    real_run = transcode.ffmpeg_run.run_ffmpeg

    async def watched_run(argv, *args, **kw):
        inputs.append(argv[argv.index("-i") + 1])
        return await real_run(argv, *args, **kw)

    async def progress(event, percent, **fields):
        if fields.get("hls_path"):  # the moment the database would name the output: the store must have it
            prefix = fields["hls_path"] + "/"
            keys = set(bucket.keys(prefix))
            lowest = b"".join(bucket.read(prefix + "480p/index.m3u8")).decode()
            listed = [line for line in lowest.splitlines() if line.endswith(".ts")]
            announced.append((keys, listed, lowest, prefix))

    monkeypatch.setattr(transcode.ffmpeg_run, "run_ffmpeg", watched_run)
    monkeypatch.setattr(transcode, "progress", progress)
    asyncio.run(transcode.handle(events.uploaded(21, "videos/21/source.mp4")))

    [(keys, listed, playlist, prefix)] = announced
    assert "#EXT-X-ENDLIST" not in playlist and listed  # a growing EVENT playlist, already in the bucket
    assert {prefix + "master.m3u8", prefix + "thumbnail.jpg"} <= keys
    assert {prefix + "480p/" + name for name in listed} <= keys  # every segment it lists is there
    assert inputs and all(i.startswith(bucket.client.meta.endpoint_url) and "Signature" in i for i in inputs)

    [(_, result)] = topics["processed"].sent
    assert result.status == "ready" and result.hls_path == prefix.rstrip("/")
    final = set(bucket.keys(prefix))
    vod = b"".join(bucket.read(prefix + "720p/index.m3u8")).decode()
    assert "#EXT-X-ENDLIST" in vod
    assert {prefix + "720p/" + line for line in vod.splitlines() if line.endswith(".ts")} <= final
    assert not any((tmp_path / "scratch").rglob("*.ts"))  # nothing stays in the worker's scratch
    assert not (tmp_path / "no-media").exists()  # and nothing was written to a shared media folder


def test_a_listed_av1_ladder_is_published_with_its_init_segments(s3_film):
    """A calm film's AV1 ladder (listed: as good as H.264 in fewer bytes), made in parts once the film is
    ready, goes to the bucket whole: each playlist, each part's init segment and its fMP4 segments, typed for
    browsers; the master names it; nothing stays in the worker's scratch."""
    bucket = s3_film.store
    s3_film.make(seconds=5)
    s3_film.parts()
    [(_, ready), (_, result)] = s3_film.topics["processed"].sent  # ready, then again with its AV1 ladder
    assert ready.status == result.status == "ready" and result.renditions[0]["av1"]["listed"], result
    prefix = result.hls_path + "/"
    assert "av1/720p/index.m3u8" in b"".join(bucket.read(prefix + "master.m3u8")).decode()
    for rung in ("480p", "720p"):
        playlist = b"".join(bucket.read(f"{prefix}av1/{rung}/index.m3u8")).decode()
        names = hls_output.media_files(playlist)
        assert names[0].startswith("init") and names[1:] and "#EXT-X-PLAYLIST-TYPE:VOD" in playlist, playlist
        for name in names:
            head = bucket.client.head_object(Bucket=bucket.bucket, Key=f"{prefix}av1/{rung}/{name}")
            assert head["ContentType"] == ("video/mp4" if name.endswith(".mp4") else "video/iso.segment")
    assert not any(path.is_file() for path in (app.settings.scratch).rglob("*"))


def test_an_av1_ladder_a_dead_run_left_is_made_again_from_the_bucket(s3_film, monkeypatch):
    """A film ready in the bucket whose AV1 ladder a dead worker had begun without a plan (what it sent is
    there, unlisted): its event, on a worker with nothing of the film in scratch, removes what was left, plans
    the ladder in parts on the clock read from the film's first segment in the bucket; the parts score beside
    the H.264 segments they fetch, and the new ladder is listed."""
    bucket = s3_film.store
    ready = s3_film.make(seconds=5, av1_ladder=False)
    prefix = ready.hls_path + "/"
    bucket.put_bytes(prefix + "av1/720p/009.m4s", b"cut short", "video/iso.segment")
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, av1_ladder=True))
    monkeypatch.delitem(transcode._recently_done, s3_film.video)  # (another worker)
    asyncio.run(transcode.handle(events.uploaded(s3_film.video, f"videos/{s3_film.video}/source.mp4")))
    assert prefix + "av1/720p/009.m4s" not in set(bucket.keys(prefix + "av1/"))  # what the dead run sent is gone
    assert {job.clock for _, job in s3_film.topics["ladder_parts"].sent} == {hls.ONE_PASS_CLOCK}
    s3_film.parts()

    [_, (_, again)] = s3_film.topics["processed"].sent
    assert again.renditions[0]["av1"]["listed"] and again.renditions[0]["quality"] == ready.renditions[0]["quality"]
    master = b"".join(bucket.read(prefix + "master.m3u8")).decode()
    assert master.count("av1/720p/index.m3u8") == 1, master
    keys = set(bucket.keys(prefix + "av1/"))
    playlist = b"".join(bucket.read(prefix + "av1/720p/index.m3u8")).decode()
    names = hls_output.media_files(playlist)
    assert names[0].startswith("init") and {prefix + "av1/720p/" + name for name in names} <= keys
    assert not any(path.is_file() for path in (app.settings.scratch).rglob("*"))  # nothing stays in scratch


def test_a_missing_source_object_fails_the_video_with_a_reason(s3_worker):
    _, topics = s3_worker
    asyncio.run(transcode.handle(events.uploaded(22, "videos/22/source.mp4")))
    [(_, result)] = topics["processed"].sent
    assert (result.status, result.error) == ("failed", "The uploaded file is missing from storage.")


def test_removing_a_video_removes_every_object_it_owns(s3_worker):
    bucket, _ = s3_worker
    for key in ("videos/23/source.mp4", "videos/23/hls-a/master.m3u8", "videos/230/source.mp4"):
        bucket.put_bytes(key, b"x")
    storage.remove_outputs(23, keep=None)
    assert sorted(bucket.keys("videos/")) == ["videos/23/source.mp4", "videos/230/source.mp4"]
    storage.remove_video(23)
    assert list(bucket.keys("videos/")) == ["videos/230/source.mp4"]


def test_a_thumbnail_is_sent_only_whole(tmp_path):
    """FFmpeg rewrites the thumbnail for each frame it considers: a file caught mid-write is not sent (a store
    given fewer bytes than announced waits for the rest until its client times out), a whole one is."""
    whole = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"  # only the JPEG markers count
    path = tmp_path / "thumbnail.jpg"
    assert storage.whole_jpeg(path) is None  # not written yet
    path.write_bytes(whole[:1000])
    assert storage.whole_jpeg(path) is None  # cut short
    path.write_bytes(whole)
    assert storage.whole_jpeg(path) == whole


def test_a_failed_source_never_puts_its_signed_url_in_the_reason(s3_worker, tmp_path, monkeypatch, caplog):
    """A source is read through a signed URL valid for hours, and FFmpeg names its input in its errors
    ("Error opening input file http://...?X-Amz-Signature=..."): here the object goes after the probe, so
    FFmpeg's open fails. The reason stored (`video.error`, the console) and logged names the file alone: no
    host, bucket, query or signature."""
    bucket, topics = s3_worker
    bucket.put_file("videos/24/source.mp4", make_clip(tmp_path / "clip.mp4", seconds=2, size="320x240"))
    real_facts = storage.Source.facts

    def facts_then_gone(self):
        info = real_facts(self)
        bucket.delete("videos/24/source.mp4")
        return info

    monkeypatch.setattr(storage.Source, "facts", facts_then_gone)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, max_attempts=1, retry_delay=0.0))
    with caplog.at_level("INFO"):
        asyncio.run(transcode.handle(events.uploaded(24, "videos/24/source.mp4")))
    [(_, result)] = topics["processed"].sent
    assert result.status == "failed" and "source.mp4" in result.error, result.error
    logged = " ".join(record.getMessage() + str(record.exc_info and record.exc_info[1]) for record in caplog.records)
    for secret in ("X-Amz-", "Signature", "Credential", "127.0.0.1", "http", f"{bucket.bucket}/"):
        assert secret not in result.error and secret not in logged, (secret, result.error, logged)


def test_a_sealed_film_reaches_the_bucket_sealed_and_is_measured(s3_film, monkeypatch):
    """HLS_ENCRYPTION on the S3 backend: every segment of the film and of its AV1 ladder (made in parts) is
    sealed before it is uploaded, its media playlists keyed; the workers still score both ladders and find the
    film's clock (they read them back clear)."""
    bucket = s3_film.store
    keys = FilmKeys.new(rotation=2)
    monkeypatch.setattr(film_keys, "planned", lambda video_id: keys)
    monkeypatch.setattr(film_keys, "read", lambda video_id: keys)
    s3_film.make(seconds=5)
    s3_film.parts()

    [_, (_, result)] = s3_film.topics["processed"].sent  # ready, then again with its AV1 ladder
    assert all(r["quality"]["vmaf"] > 80 and r["av1"]["quality"]["vmaf"] > 80 for r in result.renditions), result
    prefix = result.hls_path + "/"
    names = [key[len(prefix) :] for key in bucket.keys(prefix)]
    segments = [name for name in names if sealed_name(name)]
    assert {name.split("/")[0] for name in segments} == {"480p", "720p", "av1"}
    for name in segments:
        sealed = b"".join(bucket.read(prefix + name))
        clear = keys.open_named(name, sealed)
        assert sealed[:1] != b"G" or sealed[188:189] != b"G"  # no MPEG-TS sync bytes: noise
        assert clear[:1] == b"G" if name.endswith(".ts") else clear[4:8] in {b"styp", b"moof"}
    for name in ("720p/index.m3u8", "av1/720p/index.m3u8"):
        assert '#EXT-X-KEY:METHOD=AES-128,URI="' in b"".join(bucket.read(prefix + name)).decode()
