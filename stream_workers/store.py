"""The worker's side of storage (STORAGE_BACKEND): the configured store, a source as FFmpeg reads it, the
local folder where an output is made, and publishing an output to the store as it grows.

- Local backend: sources are files under MEDIA_ROOT, FFmpeg writes outputs in place, publishing is nothing.
- S3: FFmpeg reads the source through a signed URL of that one object, with ranged requests (measured
  against a local copy: the same decode time, nothing to download first, and a chunk job reads only its own
  part of the film); outputs are made in the worker's own scratch folder (WORKER_SCRATCH) and each segment is
  uploaded once its playlist lists it (so it is whole), its playlist after it, the master and the thumbnail
  once the film is watchable. Workers on different machines share nothing but the bucket.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
from pathlib import Path, PurePosixPath

from videoflix.media import SNIFF_BYTES, MediaInfo, ObjectURL, ProbeFailed, Rung, probe, sniff_container
from videoflix.storage import Storage, StorageUnavailable, video_key
from videoflix.storage.config import StorageConfig

from . import hls
from .app import app

log = logging.getLogger(__name__)

#: the longest a signed source URL may live (SigV4's limit is 7 days)
MAX_URL_SECONDS = 7 * 24 * 3600


@functools.lru_cache(maxsize=4)
def _open(config: StorageConfig, media_root: Path) -> Storage:
    return config.open(media_root)


def store() -> Storage:
    """The configured store (one client per process and configuration)."""
    return _open(app.settings.storage, app.settings.media_root)


def remote() -> bool:
    """Whether outputs are made in scratch and uploaded (S3), rather than written in place (local)."""
    return app.settings.storage.backend != "local"


def work_root() -> Path:
    """Where outputs are made: MEDIA_ROOT itself for the local backend, else this worker's scratch folder."""
    return app.settings.scratch if remote() else app.settings.media_root


class Source:
    """A stored source as FFmpeg reads it (`path`: a local file or a signed URL) and its container family."""

    def __init__(self, key: str):
        self.key = key
        settings = app.settings
        if not remote():
            root = settings.media_root.resolve()
            path = (root / key).resolve()
            if root not in path.parents or not path.is_file():
                raise hls.TranscodeError("The uploaded file is missing from storage.")
            self.path: Path | ObjectURL = path
            with path.open("rb") as f:
                self.container = sniff_container(f.read(SNIFF_BYTES))
        else:
            if store().info(key) is None:
                raise hls.TranscodeError("The uploaded file is missing from storage.")
            expires = int(min(MAX_URL_SECONDS, settings.job_timeout + 3600))
            self.path = ObjectURL(store().presigned_url(key, expires))
            self.container = sniff_container(b"".join(store().read(key, 0, SNIFF_BYTES - 1)))

    def facts(self) -> MediaInfo:
        """The source's media facts, read as the container its first bytes announce, checked as at upload:
        a file that got past those checks (or limits lowered since) fails here, before anything is planned
        from what it claims."""
        if self.container is None:
            raise hls.TranscodeError("The file could not be read: it is not a video container this service accepts.")
        try:
            info = probe(self.path, app.settings.ffmpeg_binary, container=self.container)
        except ProbeFailed as exc:
            raise hls.TranscodeError(f"The file could not be read: {exc}.") from None
        if not info.has_video:
            raise hls.TranscodeError("The file has no video stream that can be decoded.")
        if problem := app.settings.media_limits.problem(info):
            raise hls.TranscodeError(problem)
        return info


def remove_video(video_id: int) -> None:
    """Everything a video owns: its objects in the store and what this worker made of it in scratch."""
    store().delete_prefix(video_key(video_id))
    if remote():
        shutil.rmtree(work_root() / video_key(video_id), ignore_errors=True)


def remove_outputs(video_id: int, keep: str | None = None) -> None:
    """The video's output folders (`hls-*`) but `keep` (the one the database names, relative), in the store
    and in scratch. Only called for a video that is not ready, or with the ready output kept."""
    keep_name = PurePosixPath(keep).name if keep else None
    prefix = video_key(video_id)
    outputs = {key[len(prefix) :].split("/", 1)[0] for key in store().keys(prefix)}
    for name in sorted(outputs):
        if name.startswith("hls-") and name != keep_name:
            store().delete_prefix(f"{prefix}{name}/")
    for path in [*(work_root() / prefix).glob("hls-*"), *(work_root() / prefix).glob(".work-*")]:
        if path.name != keep_name:  # (`.work-*`: unfinished outputs were named so before progressive HLS)
            shutil.rmtree(path, ignore_errors=True)


class Publisher:
    """Copies a growing output from the work root to the store: every segment once its playlist lists it,
    then the playlists, the master and thumbnail once there; each file once (playlists again when changed).
    Nothing to do for the local backend, whose work root is the store."""

    def __init__(self, folder: Path, relative: str):
        self.folder = folder
        self.prefix = relative.rstrip("/") + "/"
        self.sent: dict[str, str] = {}  # relative name -> digest of what was sent

    def _send(self, name: str, content_type: str, data: bytes | None = None) -> None:
        path = self.folder / name
        if data is None and name in self.sent:
            return  # segments and the thumbnail never change once whole
        digest = hashlib.blake2b(data, digest_size=16).hexdigest() if data is not None else "file"
        if self.sent.get(name) == digest:
            return
        if data is None:
            store().put_file(self.prefix + name, path, content_type)
        else:
            store().put_bytes(self.prefix + name, data, content_type)
        self.sent[name] = digest

    def publish(self, rungs: list[Rung], watchable: bool) -> None:
        """Send what is new. `watchable`: the first segments exist, so the master and thumbnail go too."""
        if not remote():
            return
        for rung in rungs:
            playlist = self.folder / rung.name / "index.m3u8"
            if not playlist.is_file():
                continue
            text = playlist.read_bytes()
            for line in text.decode().splitlines():
                if line and not line.startswith("#"):
                    self._send(f"{rung.name}/{line}", "video/MP2T")
            self._send(f"{rung.name}/index.m3u8", "application/vnd.apple.mpegurl", text)
        if watchable:
            if (self.folder / "thumbnail.jpg").is_file():
                self._send("thumbnail.jpg", "image/jpeg")
            if (self.folder / "master.m3u8").is_file():
                data = (self.folder / "master.m3u8").read_bytes()
                self._send("master.m3u8", "application/vnd.apple.mpegurl", data)

    def discard_local(self) -> None:
        """The output is in the store: the scratch copy goes."""
        if remote():
            shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["Publisher", "Source", "StorageUnavailable", "remove_outputs", "remove_video", "store", "work_root"]
