"""Authenticated HLS streaming and thumbnails: files from a ready video's current output folder.

Only what the routes' strict patterns allow reaches here (a known resolution, a numeric segment name), and
every path is resolved and checked to stay inside the video's output folder, itself inside MEDIA_ROOT whatever
the database says, so `..`, encoded slashes, absolute paths or symlinks out of MEDIA_ROOT end as 404, never as
a file from elsewhere. With the S3 backend the same holds for object keys (the video's own folder only), and
the app streams the objects itself. Files and objects go out as iterators read in the request's thread
(`stored_response`), with Content-Length, Last-Modified, ETag, 304 and Range/206; or, with
ACCEL_REDIRECT_PREFIX set (production behind nginx), as an empty answer whose X-Accel-Redirect header lets nginx
send the bytes after the app has checked the login and the path.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from cachetools import TTLCache
from pyramid.response import Response
from pyramid.view import view_config

from videoflix.core import storyboard as storyboards
from videoflix.core.ladders import BEST, FAST_MASTER
from videoflix.core.models import PlaybackSession
from videoflix.core.playlist_uris import in_rendition_place, rewritten
from videoflix.core.storage import BadKey, ObjectInfo, Opened, Storage, check_key, video_key
from videoflix.core.subtitles import master_with_subtitles

from ..caches import LockedCache
from ..errors import NotFound
from ..medialinks import expiry, signed_link
from ..security import AUTHENTICATED, playback_viewer

PLAYLIST = "application/vnd.apple.mpegurl"
SEGMENT = "video/MP2T"
FMP4_SEGMENT = "video/iso.segment"
FMP4_INIT = "video/mp4"
#: private: only the logged-in browser may cache; segments of an output never change (revalidated by ETag)
SEGMENT_CACHE = "private, max-age=86400"
#: playlists grow while a video is `playable` (EVENT) and turn VOD when it is ready: always revalidated (ETag)
PLAYLIST_CACHE = "private, no-cache"


def serve(request, relative: str, content_type: str, cache_control: str, output: str | None = None):
    settings = request.registry["videoflix.settings"]
    storage = request.registry["videoflix.storage"]
    key = output_key(request, relative, output)
    if storage.backend == "local" and settings.accel_redirect_prefix:
        return accel_redirect(settings, key, content_type, cache_control)
    return object_response(request, storage, key, content_type, cache_control)


def output_key(request, relative: str, output: str | None = None) -> str:
    """The key of `relative` in the requested video's output (`output`: the one the viewer's playback began
    on, `models.playback`; else its current one), checked (else 404): the video watchable, the key in the
    video's own folder whatever the database says (`own_key`), and on the local backend a file under
    MEDIA_ROOT reached without a symlink (`local_key`)."""
    video_id = int(request.matchdict["id"])
    key = own_key(video_id, f"{served_folder(request, output)}/{relative}")
    if request.registry["videoflix.storage"].backend == "local":
        return local_key(request.registry["videoflix.settings"].media_root, key)
    return key


def served_folder(request, output: str | None) -> str:
    """The output a request of the film is served from: the one its viewer's playback began on (`output`),
    else the film's current one; NotFound unless the film is watchable, either way."""
    current = request.videos.output_folder(int(request.matchdict["id"]))
    return output or current


def local_key(media_root: Path, key: str) -> str:
    """`key`, a file under MEDIA_ROOT that is safe to serve: a clean relative path (`check_key`: no `..`, no
    absolute path), every folder on the way a real folder (no symlink: one `lstat` each), and the file itself
    opened without following a symlink (LocalStorage); else 404.

    Resolving the path instead (three `realpath`s, a system call per component, each giving the GIL up)
    was measured as half of a segment's time in the app under 256 connections (bench/serving.py)."""
    try:
        folders = check_key(key).split("/")[:-1]
    except BadKey:
        raise NotFound("No such file for this video.") from None
    path = str(media_root)
    for name in folders:
        path += "/" + name
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise NotFound("No such file for this video.")
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("No such file for this video.") from None
    return key


class StoredObject:
    """A stored object as a response body: the bytes of an object already opened (`Storage.open`), or read
    when iterated. WebOb's conditional response asks it for a byte range (`app_iter_range`), so a Range
    request reads only that range from the store."""

    def __init__(self, storage: Storage, key: str, opened: Opened | None = None):
        self.storage = storage
        self.key = key
        self.opened = opened

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.opened) if self.opened is not None else iter(self.storage.read(self.key))

    def app_iter_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        self.close()
        return iter(self.storage.read(self.key, start, None if stop is None else stop - 1))

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()


def own_key(video_id: int, key: str) -> str:
    """`key`, which must be clean (`check_key`) and lie in this video's own folder, whatever the database
    says: else 404."""
    try:
        if check_key(key).startswith(video_key(video_id)):
            return key
    except BadKey:
        pass
    raise NotFound("No such file for this video.")


def stored_info(storage: Storage, video_id: int, key: str) -> ObjectInfo:
    """The facts of the video's own object `key` (`own_key`); 404 when it is missing."""
    if (info := storage.info(own_key(video_id, key))) is None:
        raise NotFound("No such file for this video.")
    return info


def object_response(request, storage: Storage, key: str, content_type: str, cache_control: str):
    """The object `key` (checked by the caller) as the answer. A plain GET, what players send for segments,
    costs the store one request (`Storage.open`: the facts come with the bytes); a HEAD, a Range or a
    revalidation asks for the facts first, so a 304 or a range reads no more than it needs."""
    plain = request.method == "GET" and request.range is None
    plain = plain and not request.if_none_match and request.if_modified_since is None
    opened = storage.open(key) if plain else None
    info = opened.info if opened is not None else None if plain else storage.info(key)
    if info is None:
        raise NotFound("No such file for this video.")
    return stored_response(storage, key, info, content_type, cache_control, opened)


def stored_response(
    storage: Storage, key: str, info: ObjectInfo, content_type: str, cache_control: str, opened: Opened | None = None
):
    """The object as the answer: Content-Length, ETag, Last-Modified, 304 and Range/206. Its bytes are read in
    the request's thread (1 MiB at a time), not through wsgi.file_wrapper, whose reads and sends waitress does
    in its one I/O thread: measured (bench/serving.py), files sent that way fell from 356 to 66 segments a
    second between 16 and 256 connections, while the same bytes as an iterator held."""
    response = Response(
        app_iter=StoredObject(storage, key, opened), content_type=content_type, content_length=info.size,
        conditional_response=True, cache_control=cache_control,
    )  # fmt: skip
    response.etag = info.etag.strip('"')
    response.last_modified = info.modified
    response.headers["Accept-Ranges"] = "bytes"
    return response


def accel_redirect(settings, key: str, content_type: str, cache_control: str) -> Response:
    """The checks are done (`local_key`); nginx sends the bytes (an `internal` location that maps the prefix
    onto MEDIA_ROOT), with its own sendfile, ETag and Range handling. A missing file, or a symlink (nginx
    would follow it), is 404 here, before nginx is sent anywhere."""
    try:
        regular = stat.S_ISREG(os.lstat(settings.media_root / key).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        regular = False
    if not regular:
        raise NotFound("No such file for this video.")
    response = Response(content_type=content_type, cache_control=cache_control)
    response.headers["X-Accel-Redirect"] = settings.accel_redirect_prefix.rstrip("/") + "/" + quote(key)
    return response


def _folder(request) -> str:
    """The requested playlist's folder in the output: a rendition's (`720p`), an alternate audio track's
    (`audio/<n>`, stream_workers.audio_tracks) or a further ladder's rendition's (`avc/720p`, `av1/720p`, `hevc/720p`:
    videoflix.core.ladders); the routes' patterns admit nothing else."""
    if "track" in request.matchdict:
        return f"audio/{int(request.matchdict['track'])}"
    if "ladder" in request.matchdict:
        return f"{request.matchdict['ladder']}/{request.matchdict['resolution']}"
    return request.matchdict["resolution"]


def started(request) -> PlaybackSession:
    """A playlist was asked for: the viewer's playback of the film begins or is renewed (409 when the account
    has no screen free), and a later view counts as playback (services.viewing)."""
    video_id, viewer = int(request.matchdict["id"]), playback_viewer(request)
    playback = request.playback.start(viewer, video_id)
    request.viewing.playback_started(viewer.user_id, video_id)
    return playback


def renewed(request) -> str | None:
    """A segment the app serves: the viewer's playback goes on (at most one write every few seconds); the
    output it began on, which serves it."""
    return request.playback.renew(playback_viewer(request), int(request.matchdict["id"]))


@view_config(route_name="stream.master", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def master(request):
    """The stored master playlist; with the storyboard's image playlist (`#EXT-X-IMAGE-STREAM-INF`) and a
    subtitles group added when the video has them (subtitles can be added and removed after the encode, so
    the workers' master does not hold them)."""
    output = started(request).output
    storage = request.registry["videoflix.storage"]
    found = storyboard_plan(request, storage)
    tracks = request.subtitles.master_tracks(int(request.matchdict["id"]))
    if found is None and not tracks:
        return serve(request, "master.m3u8", PLAYLIST, PLAYLIST_CACHE, output)
    try:
        text = b"".join(storage.read(output_key(request, "master.m3u8", output))).decode()
    except FileNotFoundError:
        raise NotFound("No such file for this video.") from None
    if tracks:
        text = master_with_subtitles(text, tracks)
    if found is not None:
        text += storyboards.image_stream_inf(found[0]) + "\n"
    return playlist_response(text)


def storyboard_plan(request, storage: Storage) -> tuple[storyboards.Layout, str] | None:
    """The storyboard's plan of the requested video's output and the key it was read from; None for an
    output made without one (on the local backend, one without a storyboard folder)."""
    try:
        key = output_key(request, storyboards.LAYOUT)
        return storyboards.Layout.from_json(b"".join(storage.read(key))), key
    except (FileNotFoundError, NotFound):
        return None


def storyboard(request) -> tuple[storyboards.Layout, list[int], float | None]:
    """The requested video's storyboard as its tracks are written from it: the plan, the numbers of the
    sheets made so far (listed beside the plan), the film's length; 404 for an output made without one."""
    storage = request.registry["videoflix.storage"]
    if (found := storyboard_plan(request, storage)) is None:
        raise NotFound("This video has no storyboard.")
    plan, key = found
    prefix = key.rsplit("/", 1)[0] + "/"
    names = [name[len(prefix) :] for name in storage.keys(prefix)]
    sheets = [int(name[:-4]) for name in names if storyboards.SHEET.fullmatch(name)]
    return plan, sheets, request.videos.duration(int(request.matchdict["id"]))


@view_config(route_name="stream.playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
@view_config(route_name="stream.audio_playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
@view_config(route_name="stream.fmp4_playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def playlist(request):
    """A rendition's playlist (where the existing frontend starts playback: it never loads the master); once
    the best H.264 ladder took the fast one's place, its rendition's (`best_in_place`)."""
    playback = started(request)
    storage = request.registry["videoflix.storage"]
    config = request.registry["videoflix.settings"].storage
    best = best_in_place(request, storage, playback.output)
    if config.segment_urls == "presigned":
        if storage.backend == "local":
            return linked_playlist(request, storage, config, playback, best)
        return signed_playlist(request, storage, config, playback, best)
    if best is not None:  # its segments named from the rendition's folder, where the player asked
        key = output_key(request, f"{best}/index.m3u8", playback.output)
        return playlist_response(in_rendition_place(rewritten(storage, key, lambda name: f"../{best}/{name}")))
    return serve(request, f"{_folder(request)}/index.m3u8", PLAYLIST, PLAYLIST_CACHE, playback.output)


def best_in_place(request, storage: Storage, output: str | None) -> str | None:
    """The best H.264 ladder's rendition (`avc/720p`) whose playlist a rendition's playlist request is answered
    with, once the workers listed that ladder in the fast one's place (the output keeps the fast stage's master
    then, FAST_MASTER): the existing frontend plays `<rung>/index.m3u8` and never reads the master, so this is
    how its viewers get the best ladder's bytes. None for a further ladder's or a track's playlist, or before.
    A viewer mid-film keeps the fast playlist they loaded, whose segments stay."""
    if "ladder" in request.matchdict or "track" in request.matchdict:
        return None
    try:
        kept = output_key(request, FAST_MASTER, output)
    except NotFound:  # (the local backend checks the file is there)
        return None
    return f"{BEST}/{_folder(request)}" if storage.info(kept) is not None else None


def rendition_playlist(request, storage: Storage, output: str | None, best: str | None) -> tuple[str, ObjectInfo]:
    """(folder, the playlist object's facts) of the requested rendition in `output` (the playback's, else the
    film's current one; `best`: the best ladder's rendition in its place), checked as every stored object is."""
    video_id = int(request.matchdict["id"])
    folder = f"{served_folder(request, output)}/{best or _folder(request)}"
    return folder, stored_info(storage, video_id, f"{folder}/index.m3u8")


def playlist_response(text: str, content_type: str = PLAYLIST) -> Response:
    """A playlist (or WebVTT track) the app wrote: revalidated by an ETag of its bytes."""
    body = text.encode()
    response = Response(body=body, content_type=content_type, cache_control=PLAYLIST_CACHE, conditional_response=True)
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    response.etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    return response


def linked_playlist(request, storage: Storage, config, playback: PlaybackSession, best: str | None = None):
    """Local backend: the rendition playlist with each segment as a link nginx checks and serves itself
    (`medialinks`), signed for this viewer's playback session, which nginx asks about (`playback_check`)."""
    folder, info = rendition_playlist(request, storage, playback.output, best)
    expires, viewer, secret = expiry(config.url_seconds), request.identity.id, config.media_link_secret
    named = str(playback.id)

    def link(name: str) -> str:
        return signed_link(config.media_link_prefix, f"{folder}/{name}", viewer, expires, secret, named)

    text = rewritten(storage, info.key, link)
    return playlist_response(in_rendition_place(text) if best else text)


#: (playlist key, its ETag) -> the playlist with signed segment URLs; re-signed when half their life is gone
_signed = LockedCache(TTLCache(maxsize=2048, ttl=3600))


def signed_playlist(request, storage: Storage, config, playback: PlaybackSession, best: str | None = None):
    """A rendition's playlist whose segments are signed URLs of their objects (SEGMENT_URLS=presigned), so
    segment bytes go from the store (or a proxy in front of it) to the browser without a request to the app.
    Signing a long film's playlist costs ~0.3 ms a segment, so the signed text is shared by every viewer
    while its URLs have more than half their life left; a growing playlist is signed again as it changes."""
    folder, info = rendition_playlist(request, storage, playback.output, best)
    url_seconds = config.url_seconds
    cached = _signed.get((info.key, info.etag))
    if cached is None or cached[0] < time.monotonic():
        text = rewritten(storage, info.key, lambda name: storage.browser_url(f"{folder}/{name}", url_seconds))
        text = in_rendition_place(text) if best else text
        cached = _signed.put((info.key, info.etag), (time.monotonic() + url_seconds / 2, text))
    path = request.registry["videoflix.settings"].s3_playback_path
    if not path or not config.public_url:
        return playlist_response(cached[1])
    # through nginx, which checks the viewer's playback before it passes a URL to the store (deploy/nginx.conf)
    public = config.public_url.rstrip("/")
    return playlist_response(cached[1].replace(f"{public}/", f"{public}{path}{playback.id}/"))


@view_config(route_name="stream.segment", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
@view_config(route_name="stream.segment_slash", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
@view_config(route_name="stream.audio_segment", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def segment(request):
    output = renewed(request)
    return serve(request, f"{_folder(request)}/{request.matchdict['segment']}.ts", SEGMENT, SEGMENT_CACHE, output)


@view_config(route_name="stream.fmp4_segment", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def fmp4_segment(request):
    """A segment of a further ladder's rendition (CMAF: fMP4)."""
    output = renewed(request)
    segment = f"{_folder(request)}/{request.matchdict['segment']}.m4s"
    return serve(request, segment, FMP4_SEGMENT, SEGMENT_CACHE, output)


@view_config(route_name="stream.fmp4_init", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def init_segment(request):
    """An init segment a further ladder's rendition's playlist names (`#EXT-X-MAP`): its codec's setup."""
    output = renewed(request)
    return serve(request, f"{_folder(request)}/{request.matchdict['init']}.mp4", FMP4_INIT, SEGMENT_CACHE, output)


@view_config(route_name="stream.storyboard", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def storyboard_sheet(request):
    """A sprite sheet of seek-bar previews (the storyboard track's cues point into it)."""
    return serve(request, f"{storyboards.FOLDER}/{int(request.matchdict['sheet'])}.jpg", "image/jpeg", SEGMENT_CACHE)


@view_config(route_name="stream.storyboard_track", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def storyboard_track(request):
    """The seek-bar previews as a WebVTT thumbnails track (`storyboard/<n>.jpg#xywh=x,y,w,h` cues), written
    from the storyboard's plan and the sheets that exist so far: a `playable` film's track grows."""
    return playlist_response(storyboards.webvtt(*storyboard(request)), "text/vtt")


@view_config(route_name="stream.storyboard_playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def storyboard_image_playlist(request):
    """The storyboard as an HLS image media playlist (`#EXT-X-TILES`), which the master names."""
    return playlist_response(storyboards.image_playlist(*storyboard(request)))


@view_config(route_name="stream.thumbnail", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def thumbnail(request):
    return serve(request, "thumbnail.jpg", "image/jpeg", SEGMENT_CACHE)  # the workers write it beside master.m3u8
