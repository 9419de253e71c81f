"""The frontend's catalog and streaming contract, over a real HLS output made once by the real FFmpeg."""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from videoflix.core.models import Video, VideoStatus

from ..support.frontend import FRONTEND
from ..support.media import BEST_OUTPUT, OUTPUT


def test_catalog_lists_ready_videos_newest_first(viewer, add_video):
    old = add_video(title="Old", minutes_ago=10)
    new = add_video(title="New", category="Comedy", minutes_ago=1)
    add_video(status=VideoStatus.PROCESSING, title="Not yet")
    add_video(status=VideoStatus.FAILED, title="Broken")

    response = viewer.get("/api/video/", status=200)

    assert [v["id"] for v in response.json] == [new, old]
    first = response.json[0]
    assert set(first) == {
        "id",
        "created_at",
        "title",
        "description",
        "category",
        "thumbnail_url",
        "duration",
        "resolutions",
        "views",  # added (issue 19): counted views, and where this viewer is in it (null: not started)
        "progress",
    }
    assert first["thumbnail_url"] == f"http://127.0.0.1:8000/api/video/{new}/thumbnail.jpg"
    assert (first["category"], first["resolutions"], first["duration"]) == ("Comedy", ["480p"], 2.0)
    assert response.headers["X-Total-Count"] == "2"


def test_category_is_always_a_string(viewer, add_video):
    add_video(category="")
    assert viewer.get("/api/video/", status=200).json[0]["category"] == ""


def test_category_filter_and_pagination(viewer, add_video):
    ids = [add_video(title=f"Drama {i}", category="Drama", minutes_ago=10 - i) for i in range(5)]
    add_video(category="Comedy")

    drama = viewer.get("/api/video/?category=drama", status=200).json
    page = viewer.get("/api/video/?category=DRAMA&limit=2&offset=2", status=200)

    assert [v["id"] for v in drama] == ids[::-1]
    assert [v["id"] for v in page.json] == ids[::-1][2:4]
    assert page.headers["X-Total-Count"] == "5"
    assert page.headers["Link"] == ('<http://127.0.0.1:8000/api/video/?limit=2&offset=4&category=DRAMA>; rel="next"')
    last = viewer.get("/api/video/?category=drama&limit=2&offset=4", status=200)
    assert len(last.json) == 1 and "Link" not in last.headers


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=-1", "offset=x", "limit=100000"])
def test_bad_pagination_is_400(viewer, query):
    assert viewer.get(f"/api/video/?{query}", status=400).json["errors"]


def test_detail(viewer, add_video):
    ready = add_video(title="Detail")
    waiting = add_video(status=VideoStatus.UPLOADED)

    assert viewer.get(f"/api/video/{ready}/", status=200).json["title"] == "Detail"
    viewer.get(f"/api/video/{waiting}/", status=404)
    viewer.get(f"/api/video/{ready + 1000}/", status=404)


def test_catalog_and_streams_need_login(testapp, add_video):
    video = add_video()
    for path in [
        "/api/video/",
        f"/api/video/{video}/",
        f"/api/video/{video}/master.m3u8",
        f"/api/video/{video}/480p/index.m3u8",
        f"/api/video/{video}/480p/000.ts",
        f"/api/video/{video}/thumbnail.jpg",
    ]:
        assert testapp.get(path, status=401).json["detail"], path


def test_playlists_segments_and_thumbnail(viewer, add_video, hls_output):
    video = add_video()

    master = viewer.get(f"/api/video/{video}/master.m3u8", status=200)
    playlist = viewer.get(f"/api/video/{video}/480p/index.m3u8", status=200)
    segment = viewer.get(f"/api/video/{video}/480p/000.ts", status=200)
    slash = viewer.get(f"/api/video/{video}/480p/000.ts/", status=200)
    thumb = viewer.get(f"/api/video/{video}/thumbnail.jpg", status=200)

    assert master.content_type == playlist.content_type == "application/vnd.apple.mpegurl"
    assert "480p/index.m3u8" in master.text and "000.ts" in playlist.text
    assert segment.content_type == "video/MP2T" and segment.body == (hls_output / "480p" / "000.ts").read_bytes()
    assert slash.body == segment.body
    assert segment.headers["Content-Length"] == str(len(segment.body))
    assert "private" in segment.headers["Cache-Control"]
    assert thumb.content_type == "image/jpeg" and thumb.body[:3] == b"\xff\xd8\xff"


def test_the_av1_ladder_is_served_as_fmp4(viewer, add_video, hls_output):
    """A film with the AV1 ladder (the session's output has it): its playlist, init segment and fMP4 segments
    come through the same checks, with their own types; nothing else in its folder is reachable."""
    video = add_video()
    master = viewer.get(f"/api/video/{video}/master.m3u8", status=200).text
    assert "\nav1/480p/index.m3u8" in master and 'CODECS="av01.' in master
    playlist = viewer.get(f"/api/video/{video}/av1/480p/index.m3u8", status=200)
    init = viewer.get(f"/api/video/{video}/av1/480p/init.mp4", status=200)
    segment = viewer.get(f"/api/video/{video}/av1/480p/000.m4s", status=200)
    assert playlist.content_type == "application/vnd.apple.mpegurl" and '#EXT-X-MAP:URI="init.mp4"' in playlist.text
    assert init.content_type == "video/mp4" and init.body == (hls_output / "av1" / "480p" / "init.mp4").read_bytes()
    assert segment.content_type == "video/iso.segment" and segment.body[4:8] == b"styp"
    assert (
        viewer.get(f"/api/video/{video}/av1/480p/000.m4s", headers={"Range": "bytes=0-99"}, status=206).body
        == (segment.body[:100])
    )
    for path in ("av1/master.m3u8", "av1/480p/000.ts", "av1/720p/index.m3u8", "480p/000.m4s", "av1/480p/init_.mp4"):
        viewer.get(f"/api/video/{video}/{path}", status=404)


def test_every_further_ladder_is_served_by_the_same_routes(viewer, add_video, hls_output):
    """The HEVC ladder (a further ladder of its own module, `hvc1` in fMP4) is served as the AV1 one is, from
    its own folder; a folder that is no further ladder's is not."""
    video = add_video()
    master = viewer.get(f"/api/video/{video}/master.m3u8", status=200).text
    assert "\nhevc/480p/index.m3u8" in master and 'CODECS="hvc1.' in master
    playlist = viewer.get(f"/api/video/{video}/hevc/480p/index.m3u8", status=200)
    init = viewer.get(f"/api/video/{video}/hevc/480p/init.mp4", status=200)
    assert '#EXT-X-MAP:URI="init.mp4"' in playlist.text and init.content_type == "video/mp4" and b"hvcC" in init.body
    assert viewer.get(f"/api/video/{video}/hevc/480p/000.m4s", status=200).body[4:8] == b"styp"
    for path in ("vp9/480p/index.m3u8", "hevc/480p/000.ts", "HEVC/480p/index.m3u8", "parts/480p/index.m3u8"):
        viewer.get(f"/api/video/{video}/{path}", status=404)


def test_the_best_h264_ladder_takes_the_fast_ones_place_whose_files_stay_served(viewer, add_video, best_output):
    """The best H.264 ladder (`avc`, fMP4 `avc1`) listed: the master names it where the fast H.264 variants were,
    before the AV1 ones, and names them no more; the rendition's own playlist, which the existing frontend plays,
    names the best ladder's segments (so its viewers get its bytes too), while the fast segments a viewer
    mid-film loaded before are still served; the fast stage's master kept beside the film's is not."""
    video = add_video(hls_path=BEST_OUTPUT)
    master = viewer.get(f"/api/video/{video}/master.m3u8", status=200).text
    uris = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert uris == ["avc/480p/index.m3u8", "av1/480p/index.m3u8", "hevc/480p/index.m3u8"], master
    assert re.search(r'CODECS="avc1\.[^"]*"[^\n]*\navc/480p/index.m3u8', master), master
    playlist = viewer.get(f"/api/video/{video}/avc/480p/index.m3u8", status=200).text
    init = viewer.get(f"/api/video/{video}/avc/480p/init.mp4", status=200)
    assert '#EXT-X-MAP:URI="init.mp4"' in playlist and b"avcC" in init.body
    assert viewer.get(f"/api/video/{video}/avc/480p/000.m4s", status=200).body[4:8] == b"styp"
    rendition = viewer.get(f"/api/video/{video}/480p/index.m3u8", status=200).text
    assert '#EXT-X-MAP:URI="../avc/480p/init.mp4"' in rendition and "\n../avc/480p/000.m4s\n" in rendition
    assert ".ts" not in rendition and rendition.replace("../avc/480p/", "") == playlist
    assert viewer.get(f"/api/video/{video}/480p/000.ts", status=200).body[0] == 0x47  # an MPEG-TS packet
    assert "\n480p/index.m3u8" in (best_output / "master-fast.m3u8").read_text()
    viewer.get(f"/api/video/{video}/master-fast.m3u8", status=404)
    plain = add_video()  # (a film without it: its rendition's own playlist, the fast one)
    assert "\n000.ts" in viewer.get(f"/api/video/{plain}/480p/index.m3u8", status=200).text


def test_conditional_and_range_requests(viewer, add_video):
    video = add_video()
    path = f"/api/video/{video}/480p/000.ts"
    full = viewer.get(path, status=200)

    again = viewer.get(path, headers={"If-None-Match": full.headers["ETag"]}, status=304)
    since = viewer.get(path, headers={"If-Modified-Since": full.headers["Last-Modified"]}, status=304)
    part = viewer.get(path, headers={"Range": "bytes=100-299"}, status=206)

    assert again.body == b"" and since.body == b""
    assert part.body == full.body[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(full.body)}"


@pytest.mark.parametrize(
    "tail",
    [
        "360p/index.m3u8",  # not a resolution of the ladder
        "1080p/index.m3u8",  # not made for a 360-line source
        "480p/999.ts",  # no such segment
        "480p/abc.ts",
        "480p/000.mp4",
        "480p/..%2F..%2F..%2Fsource.ts",
        "480p/%2e%2e/%2e%2e/master.m3u8",
        "480p/%252e%252e%252fmaster.m3u8",
        "480p/..\\..\\master.ts",
        "480p/000.ts%00.jpg",
        "..%2F480p/000.ts",
        "%2Fetc%2Fpasswd",
    ],
)
def test_nothing_outside_the_videos_folder_is_served(viewer, add_video, tail):
    video = add_video()
    response = viewer.get(f"/api/video/{video}/{tail}", status="*")
    assert response.status_int in (400, 404), (tail, response.status)
    assert response.json["detail"]


def test_symlinks_out_of_the_output_are_not_followed(viewer, add_video, hls_output):
    video = add_video()
    link = hls_output.parents[2] / "videos" / str(video) / hls_output.name / "480p" / "998.ts"  # its own output
    os.symlink("/etc/passwd", link)
    try:
        assert viewer.get(f"/api/video/{video}/480p/998.ts", status=404).json["detail"]
    finally:
        link.unlink()


def test_a_folder_symlinked_out_of_the_media_root_serves_nothing(viewer, add_video, hls_output, media_root, tmp_path,
                                                                  dbsession):  # fmt: skip
    """A video whose output folder (or a folder on the way to it) is a symlink: its files are never read,
    however real they look where the link points."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "480p").mkdir(parents=True)
    (elsewhere / "480p" / "000.ts").write_bytes((hls_output / "480p" / "000.ts").read_bytes())
    video = add_video(hls_path=None)
    link = media_root / "videos" / str(video) / "linked"  # in the video's own folder, as its output would be
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, link)
    try:
        dbsession.execute(sa.update(Video).where(Video.id == video).values(hls_path=f"videos/{video}/linked"))
        dbsession.commit()
        assert viewer.get(f"/api/video/{video}/480p/000.ts", status=404).json["detail"]
        assert viewer.get(f"/api/video/{video}/480p/000.ts", headers={"Range": "bytes=0-9"}, status=404)
    finally:
        link.unlink()


def test_not_ready_video_streams_nothing(viewer, add_video):
    video = add_video(status=VideoStatus.PROCESSING)
    viewer.get(f"/api/video/{video}/480p/index.m3u8", status=404)
    viewer.get(f"/api/video/{video}/thumbnail.jpg", status=404)


def test_segments_carry_cors_for_hls_js(viewer, add_video):
    video = add_video()
    response = viewer.app.get(f"/api/video/{video}/480p/000.ts", headers={"Origin": FRONTEND}, status=200)
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_catalog_follows_every_change(viewer, add_video, dbsession):
    """The catalog is cached per version of the ready set: edits, new and withdrawn videos show at once."""
    first = add_video(title="Before")
    assert [v["title"] for v in viewer.get("/api/video/", status=200).json] == ["Before"]

    video = dbsession.get(Video, first)
    video.title = "After"
    dbsession.commit()
    assert [v["title"] for v in viewer.get("/api/video/", status=200).json] == ["After"]

    second = add_video(title="New")
    assert [v["id"] for v in viewer.get("/api/video/", status=200).json] == [second, first]

    dbsession.get(Video, second).status = VideoStatus.FAILED
    dbsession.commit()
    assert [v["id"] for v in viewer.get("/api/video/", status=200).json] == [first]


def test_a_removed_output_is_gone_at_once(viewer, add_video, hls_output, tmp_path):
    """Output folders are remembered for a few seconds per video, but every file is still looked up on disk."""
    video = add_video()
    viewer.get(f"/api/video/{video}/480p/000.ts", status=200)
    own = hls_output.parents[2] / "videos" / str(video) / hls_output.name  # (add_video's link of the output)
    (own / "480p" / "000.ts").rename(tmp_path / "000.ts")
    viewer.get(f"/api/video/{video}/480p/000.ts", status=404)


@pytest.fixture
def accel(viewer, monkeypatch):
    registry = viewer.app.app.registry
    settings = registry["videoflix.settings"]
    monkeypatch.setitem(registry, "videoflix.settings", replace(settings, accel_redirect_prefix="/protected-media/"))


def test_x_accel_redirect_hands_the_bytes_to_nginx_after_the_checks(viewer, add_video, accel):
    video = add_video()
    segment = viewer.get(f"/api/video/{video}/480p/000.ts", status=200)
    thumb = viewer.get(f"/api/video/{video}/thumbnail.jpg", status=200)

    own = f"videos/{video}/{OUTPUT.rsplit('/', 1)[1]}"  # (add_video's link of the output)
    assert segment.headers["X-Accel-Redirect"] == f"/protected-media/{own}/480p/000.ts"
    assert segment.body == b"" and segment.content_type == "video/MP2T"
    assert segment.headers["Cache-Control"] == "private, max-age=86400"
    assert thumb.headers["X-Accel-Redirect"] == f"/protected-media/{own}/thumbnail.jpg"
    # the checks still run first: nothing is redirected for a missing file, a bad path or an anonymous client
    assert "X-Accel-Redirect" not in viewer.get(f"/api/video/{video}/480p/999.ts", status=404).headers
    assert "X-Accel-Redirect" not in viewer.get(f"/api/video/{video}/480p/..%2F..%2Fmaster.m3u8", status=404).headers
    viewer.app.reset()
    assert "X-Accel-Redirect" not in viewer.get(f"/api/video/{video}/480p/000.ts", status=401).headers


def test_x_accel_redirect_never_hands_nginx_a_symlink(viewer, add_video, accel, hls_output):
    """nginx follows symlinks: the app must refuse one before it names the file to nginx."""
    video = add_video()
    link = hls_output.parents[2] / "videos" / str(video) / hls_output.name / "480p" / "997.ts"  # its own output
    os.symlink("/etc/passwd", link)
    try:
        assert "X-Accel-Redirect" not in viewer.get(f"/api/video/{video}/480p/997.ts", status=404).headers
    finally:
        link.unlink()


def test_playable_videos_are_listed_on_request_and_streamed_while_they_grow(viewer, add_video):
    """Progressive HLS: a video still transcoding whose first segments exist. The default list (the frontend's
    contract) is unchanged; `?include=playable` adds such videos, each item saying which it is."""
    ready = add_video(title="Done", minutes_ago=5)
    growing = add_video(status=VideoStatus.PLAYABLE, title="Growing")
    add_video(status=VideoStatus.PROCESSING, title="Not yet")

    default = viewer.get("/api/video/", status=200).json
    assert [v["id"] for v in default] == [ready] and "status" not in default[0]
    both = viewer.get("/api/video/?include=playable", status=200)
    assert [(v["id"], v["status"]) for v in both.json] == [(growing, "playable"), (ready, "ready")]
    assert both.headers["X-Total-Count"] == "2"
    assert viewer.get(f"/api/video/{growing}/", status=200).json["status"] == "playable"
    assert "status" not in viewer.get(f"/api/video/{ready}/", status=200).json
    viewer.get("/api/video/?include=processing", status=400)

    for path in ("master.m3u8", "480p/index.m3u8", "480p/000.ts", "thumbnail.jpg"):
        viewer.get(f"/api/video/{growing}/{path}", status=200)
    playlist = viewer.get(f"/api/video/{growing}/480p/index.m3u8", status=200)
    assert playlist.headers["Cache-Control"] == "private, no-cache"  # it grows: always revalidated
    assert viewer.get(f"/api/video/{growing}/480p/index.m3u8", headers={"If-None-Match": playlist.headers["ETag"]},
                      status=304)  # fmt: skip


def test_the_work_folders_of_a_film_in_parts_are_not_served(viewer, dbsession, app_settings):
    """A long film's jobs write into `parts/` (the audio in `parts/audio/`): only the renditions' folders,
    which carry picture and sound, are served."""
    video = Video(title="Chunked", status=VideoStatus.READY, source_path="x")
    dbsession.add(video)
    dbsession.commit()
    video.hls_path = f"videos/{video.id}/hls-1"
    dbsession.commit()
    folder = Path(app_settings["videoflix.media_root"]) / video.hls_path
    for name in ("480p", "parts/480p", "parts/audio", "audio"):
        (folder / name).mkdir(parents=True)
        (folder / name / "index.m3u8").write_text("#EXTM3U\n#EXTINF:4.0,\n000.ts\n#EXT-X-ENDLIST\n")
        (folder / name / "000.ts").write_bytes(b"\x47" + b"\0" * 187)

    assert viewer.get(f"/api/video/{video.id}/480p/000.ts", status=200).body[:1] == b"\x47"
    for path in ("parts/480p/000.ts", "parts/audio/index.m3u8", "audio/index.m3u8", "audio/000.ts"):
        viewer.get(f"/api/video/{video.id}/{path}", status=404)


@pytest.mark.parametrize("stored", ["../outside/hls-1", "ABSOLUTE", "videos/../../outside/hls-1"])
def test_an_output_folder_outside_media_root_is_never_served(viewer, dbsession, app_settings, tmp_path, stored):
    """The database names a video's output folder; a row that names one outside MEDIA_ROOT (a bad migration, a
    tampered row) serves nothing from there, with or without nginx."""
    media = Path(app_settings["videoflix.media_root"])
    stored = str(tmp_path / "outside" / "hls-1") if stored == "ABSOLUTE" else stored
    folder = media / stored  # (an absolute one replaces media)
    (folder / "480p").mkdir(parents=True, exist_ok=True)
    (folder / "master.m3u8").write_text("#EXTM3U\n")
    (folder / "480p" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:4.0,\n000.ts\n#EXT-X-ENDLIST\n")
    video = Video(title="Elsewhere", status=VideoStatus.READY, source_path="x", hls_path=stored)
    dbsession.add(video)
    dbsession.commit()

    viewer.get(f"/api/video/{video.id}/master.m3u8", status=404)
    viewer.get(f"/api/video/{video.id}/480p/index.m3u8", status=404)


def test_local_presigned_playlists_link_segments_that_nginx_checks(viewer, add_video, wsgi_app, monkeypatch,
                                                                   dbsession, hls_output):  # fmt: skip
    """SEGMENT_URLS=presigned with local storage: each segment line is a link signed for this viewer's playback
    session, which the playlist began (medialinks.signed_link, which tests/integration/test_nginx.py shows nginx
    accepts while the playback lives), expiring in a window."""
    from videoflix import medialinks
    from videoflix.core.models import PlaybackSession, User

    settings = wsgi_app.registry["videoflix.settings"]
    secret = "s" * 40
    links = replace(settings.storage, segment_urls="presigned", url_seconds=900, media_link_secret=secret)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", replace(settings, storage=links))
    video_id = add_video()
    own = f"videos/{video_id}/hls-links"  # links are made only inside the video's own folder
    shutil.copytree(hls_output, Path(settings.media_root) / own)
    dbsession.execute(sa.update(Video).where(Video.id == video_id).values(hls_path=own))
    dbsession.commit()
    text = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200).text
    viewer_id = dbsession.scalars(sa.select(User.id).where(User.email == "viewer@example.com")).one()
    original = (hls_output / "480p" / "index.m3u8").read_text().splitlines()
    segments = [line for line in original if line and not line.startswith("#")]
    linked = [line for line in text.splitlines() if line and not line.startswith("#")]
    expires = int(linked[0].split("e=")[1].split("&")[0])
    assert expires % medialinks.WINDOW == 0 and expires >= time.time() + 900
    playback = dbsession.scalars(sa.select(PlaybackSession.id).where(PlaybackSession.user_id == viewer_id)).one()
    assert linked == [medialinks.signed_link("/media/", f"{own}/480p/{name}", viewer_id, expires, secret,
                                             str(playback)) for name in segments]  # fmt: skip


def test_a_row_naming_another_videos_folder_serves_nothing_from_it(viewer, add_video, dbsession, hls_output):
    """Defence in depth: whatever a video's row says its output is, the local backend serves only files in
    the video's own folder (`videos/<id>/`), as the S3 backend does; a row pointing at another film's output
    (a bug, a tampered row) gets 404 (before: that film's files)."""
    other = add_video()
    video = add_video(hls_path=None)
    dbsession.execute(sa.update(Video).where(Video.id == video)
                      .values(hls_path=f"videos/{other}/{hls_output.name}"))  # fmt: skip
    dbsession.commit()
    viewer.get(f"/api/video/{other}/480p/000.ts", status=200)
    for path in ("480p/000.ts", "480p/index.m3u8", "master.m3u8", "thumbnail.jpg"):
        viewer.get(f"/api/video/{video}/{path}", status=404)
