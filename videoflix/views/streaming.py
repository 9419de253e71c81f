"""Authenticated HLS streaming and thumbnails: files from a ready video's current output folder.

Only what the routes' strict patterns allow reaches here (a known resolution, a numeric segment name), and
every path is resolved and checked to stay inside the video's output folder, itself inside MEDIA_ROOT whatever
the database says, so `..`, encoded slashes, absolute paths or symlinks out of MEDIA_ROOT end as 404, never as
a file from elsewhere. With the S3 backend the same holds for object keys (the video's own folder only), and
the app streams the objects itself. Files go out through
Pyramid's FileResponse: wsgi.file_wrapper, Content-Length, Last-Modified, ETag, 304 and Range/206; or, with
ACCEL_REDIRECT_PREFIX set (production behind nginx), as an empty answer whose X-Accel-Redirect header lets nginx
send the bytes after the app has checked the login and the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from pyramid.response import FileResponse, Response
from pyramid.view import view_config

from ..errors import NotFound
from ..security import AUTHENTICATED
from ..storage import BadKey, Storage, check_key, video_key

PLAYLIST = "application/vnd.apple.mpegurl"
SEGMENT = "video/MP2T"
#: private: only the logged-in browser may cache; segments of an output never change (revalidated by ETag)
SEGMENT_CACHE = "private, max-age=86400"
#: playlists grow while a video is `playable` (EVENT) and turn VOD when it is ready: always revalidated (ETag)
PLAYLIST_CACHE = "private, no-cache"


def serve(request, relative: str, content_type: str, cache_control: str):
    settings = request.registry["videoflix.settings"]
    video_id = int(request.matchdict["id"])
    folder = request.videos.output_folder(video_id)
    storage = request.registry["videoflix.storage"]
    if storage.backend != "local":
        return serve_object(request, storage, video_id, f"{folder}/{relative}", content_type, cache_control)
    media = settings.media_root.resolve()
    root = (media / folder).resolve()
    path = (root / relative).resolve()
    # the output folder the database names must lie under MEDIA_ROOT, and the file inside that folder
    if media not in root.parents or root not in path.parents or not path.is_file():
        raise NotFound("No such file for this video.")
    if settings.accel_redirect_prefix:
        return accel_redirect(settings, path, content_type, cache_control)
    response = FileResponse(str(path), request=request, content_type=content_type)
    stat = path.stat()
    response.etag = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    response.cache_control = cache_control
    response.headers["Accept-Ranges"] = "bytes"
    return response


class StoredObject:
    """A stored object as a response body. WebOb's conditional response asks it for a byte range
    (`app_iter_range`), so a Range request reads only that range from the store."""

    def __init__(self, storage: Storage, key: str):
        self.storage = storage
        self.key = key

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.storage.read(self.key))

    def app_iter_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        return iter(self.storage.read(self.key, start, None if stop is None else stop - 1))


def serve_object(request, storage: Storage, video_id: int, key: str, content_type: str, cache_control: str):
    """An object of the video's output from the store (S3), streamed through the app: Content-Length, ETag,
    Last-Modified, 304 and Range/206 as for files. The key must lie in this video's own folder, whatever the
    database says, and be clean (`check_key`), else 404."""
    try:
        if not check_key(key).startswith(video_key(video_id)):
            raise BadKey(key)
        info = storage.info(key)
    except BadKey:
        info = None
    if info is None:
        raise NotFound("No such file for this video.")
    response = Response(
        app_iter=StoredObject(storage, key), content_type=content_type, content_length=info.size,
        conditional_response=True, cache_control=cache_control,
    )  # fmt: skip
    response.etag = info.etag.strip('"')
    response.last_modified = info.modified
    response.headers["Accept-Ranges"] = "bytes"
    return response


def accel_redirect(settings, path: Path, content_type: str, cache_control: str) -> Response:
    """The checks are done; nginx sends the bytes (an `internal` location that maps the prefix onto
    MEDIA_ROOT), with its own sendfile, ETag and Range handling."""
    relative = path.relative_to(settings.media_root.resolve()).as_posix()
    response = Response(content_type=content_type, cache_control=cache_control)
    response.headers["X-Accel-Redirect"] = settings.accel_redirect_prefix.rstrip("/") + "/" + quote(relative)
    return response


def _resolution(request) -> str:
    return request.matchdict["resolution"]


@view_config(route_name="stream.master", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def master(request):
    return serve(request, "master.m3u8", PLAYLIST, PLAYLIST_CACHE)


@view_config(route_name="stream.playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def playlist(request):
    return serve(request, f"{_resolution(request)}/index.m3u8", PLAYLIST, PLAYLIST_CACHE)


@view_config(route_name="stream.segment", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
@view_config(route_name="stream.segment_slash", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def segment(request):
    return serve(request, f"{_resolution(request)}/{request.matchdict['segment']}.ts", SEGMENT, SEGMENT_CACHE)


@view_config(route_name="stream.thumbnail", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def thumbnail(request):
    return serve(request, "thumbnail.jpg", "image/jpeg", SEGMENT_CACHE)  # the workers write it beside master.m3u8
