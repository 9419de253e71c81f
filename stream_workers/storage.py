"""The worker's side of storage (STORAGE_BACKEND): the configured store, a source as FFmpeg reads it, the
local folder where an output is made, and publishing an output to the store as it grows.

- Local backend: sources are files under MEDIA_ROOT, FFmpeg writes outputs in place, publishing is nothing;
  but a sealed film (`videoflix.core.hls_keys`) is made in scratch and published as S3's, so the store never
  holds a clear segment of it: each is sealed on its way in, its playlists keyed, and read back clear.
- S3: FFmpeg reads the source through a signed URL of that one object, with ranged requests (measured
  against a local copy: the same decode time, nothing to download first, and a part job reads only its own
  part of the film); outputs are made in the worker's own scratch folder (WORKER_SCRATCH) and each segment is
  uploaded once its playlist lists it (so it is whole), its playlist after it, the master and the thumbnail
  once the film is watchable. Workers on different machines share nothing but the bucket.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from videoflix.core import storyboard as storyboards
from videoflix.core.containers import SNIFF_BYTES, ObjectURL, ProbeFailed, sniff_container
from videoflix.core.hls_keys import FilmKeys, sealed_name
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import MediaInfo, Rung, probe
from videoflix.core.storage import Storage, StorageUnavailable, video_key
from videoflix.core.storage.config import StorageConfig

from . import ffmpeg_run, hls_output
from .app import app

log = logging.getLogger(__name__)

#: the longest a signed source URL may live (SigV4's limit is 7 days)
MAX_URL_SECONDS = 7 * 24 * 3600


@functools.lru_cache(maxsize=4)
def _open(config: StorageConfig, media_root: Path) -> Storage:
    return config.open(media_root)


def backend() -> Storage:
    """The configured storage backend (one client per process and configuration)."""
    return _open(app.settings.storage, app.settings.media_root)


def remote() -> bool:
    """Whether outputs are made in scratch and uploaded (S3), rather than written in place (local)."""
    return app.settings.storage.backend != "local"


def staged(keys: FilmKeys | None) -> bool:
    """Whether a film's outputs are made in scratch and delivered to the store: S3, or a sealed film."""
    return remote() or keys is not None


def work_root(keys: FilmKeys | None = None) -> Path:
    """Where a film's outputs are made: MEDIA_ROOT itself for the local backend, else (S3, or the film is
    sealed with `keys`) this worker's scratch folder."""
    return app.settings.scratch if staged(keys) else app.settings.media_root


class Source:
    """A stored source as FFmpeg reads it (`path`: a local file or a signed URL) and its container family."""

    def __init__(self, key: str):
        self.key = key
        settings = app.settings
        if not remote():
            root = settings.media_root.resolve()
            path = (root / key).resolve()
            if root not in path.parents or not path.is_file():
                raise ffmpeg_run.TranscodeError("The uploaded file is missing from storage.")
            self.path: Path | ObjectURL = path
            with path.open("rb") as f:
                self.container = sniff_container(f.read(SNIFF_BYTES))
        else:
            if backend().info(key) is None:
                raise ffmpeg_run.TranscodeError("The uploaded file is missing from storage.")
            expires = int(min(MAX_URL_SECONDS, settings.job_timeout + 3600))
            self.path = ObjectURL(backend().presigned_url(key, expires))
            self.container = sniff_container(b"".join(backend().read(key, 0, SNIFF_BYTES - 1)))

    def facts(self) -> MediaInfo:
        """The source's media facts, read as the container its first bytes announce, checked as at upload:
        a file that got past those checks (or limits lowered since) fails here, before anything is planned
        from what it claims."""
        if self.container is None:
            raise ffmpeg_run.TranscodeError(
                "The file could not be read: it is not a video container this service accepts."
            )
        try:
            info = probe(self.path, app.settings.ffmpeg_binary, container=self.container)
        except ProbeFailed as exc:
            raise ffmpeg_run.TranscodeError(f"The file could not be read: {exc}.") from None
        if not info.has_video:
            raise ffmpeg_run.TranscodeError("The file has no video stream that can be decoded.")
        if problem := app.settings.media_limits.problem(info):
            raise ffmpeg_run.TranscodeError(problem)
        return replace(info, decode_seconds=app.settings.media_limits.decode_cap(info))


def remove_video(video_id: int) -> None:
    """Everything a video owns: its objects in the store and what this worker made of it in scratch."""
    backend().delete_prefix(video_key(video_id))
    shutil.rmtree(app.settings.scratch / video_key(video_id), ignore_errors=True)


def remove_outputs(video_id: int, keep: str | None = None) -> None:
    """The video's output folders (`hls-*`) but `keep` (the one the database names, relative), in the store
    and in scratch. Only called for a video that is not ready, or with the ready output kept."""
    keep_name = PurePosixPath(keep).name if keep else None
    prefix = video_key(video_id)
    outputs = {key[len(prefix) :].split("/", 1)[0] for key in backend().keys(prefix)}
    for name in sorted(outputs):
        if name.startswith("hls-") and name != keep_name:
            backend().delete_prefix(f"{prefix}{name}/")
    for path in [*(app.settings.scratch / prefix).glob("hls-*"), *(app.settings.scratch / prefix).glob(".work-*")]:
        if path.name != keep_name:  # (`.work-*`: unfinished outputs were named so before progressive HLS)
            shutil.rmtree(path, ignore_errors=True)


class Output:
    """A long film's output as its jobs share it, through the store alone (`part_jobs`): the playlists
    and segments under its key prefix `relative`, and, per job, the local folder where its FFmpeg writes
    (`workspace`). Local backend: the workspace is the output itself (MEDIA_ROOT), so delivering is nothing
    and fetching is finding. S3: each job has its own folder in this worker's scratch; what it serves is
    uploaded and its local copy dropped, and what it needs from another job (the audio) is downloaded.
    A sealed film (`keys`) is delivered as S3's on either backend: each served segment sealed on its way to
    the store, each media playlist written with its key lines, each segment fetched clear again."""

    def __init__(self, relative: str, keys: FilmKeys | None = None):
        self.relative = relative.rstrip("/")
        self.prefix = self.relative + "/"
        self.keys = keys
        self.staged = staged(keys)

    def workspace(self, part: int | str) -> Path:
        folder = work_root(self.keys) / self.relative
        return folder / f"part-{part}" if self.staged else folder

    def read_text(self, name: str) -> str:
        """The output's file `name` ("" while it does not exist)."""
        try:
            return b"".join(backend().read(self.prefix + name)).decode()
        except FileNotFoundError:
            return ""

    def write_text(self, name: str, text: str) -> None:
        """Write or replace a playlist, whole (readers see the old or the new one); a sealed film's media
        playlist with its key lines."""
        if self.keys is not None:
            text = self.keys.keyed_named(name, text)
        backend().put_bytes(self.prefix + name, text.encode(), content_type_of(name))

    def deliver(self, folder: Path, name: str) -> None:
        """`folder/name`, whole, becomes the output's `name` (staged: stored, sealed if it is a segment of a
        sealed film, then removed here)."""
        if not self.staged:
            return
        if self.keys is not None and sealed_name(name):
            data = self.keys.seal_named(name, (folder / name).read_bytes())
            backend().put_bytes(self.prefix + name, data, content_type_of(name))
        else:
            backend().put_file(self.prefix + name, folder / name, content_type_of(name))
        (folder / name).unlink(missing_ok=True)

    def deliver_bytes(self, name: str, data: bytes) -> None:
        """`data`, read whole from a file of the job's folder, becomes the output's `name` (staged only: on
        local storage that file is the output's already)."""
        if self.staged:
            data = self.keys.seal_named(name, data) if self.keys is not None else data
            backend().put_bytes(self.prefix + name, data, content_type_of(name))

    def fetch(self, folder: Path, name: str) -> Path:
        """The local file of the output's `name`, clear (staged: downloaded into `folder` once, a sealed
        film's segment opened with its key)."""
        path = folder / name
        if self.staged and not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                backend().download(self.prefix + name, partial)
                if self.keys is not None and sealed_name(name):
                    partial.write_bytes(self.keys.open_named(name, partial.read_bytes()))
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        return path

    def exists(self, name: str) -> bool:
        return backend().info(self.prefix + name) is not None

    def started(self) -> bool:
        """Whether anything of the output is stored (a plan found in the database whose output is gone is
        planned again)."""
        return next(iter(backend().keys(self.prefix)), None) is not None

    def remove(self, name: str = "") -> None:
        """The output's folder `name` (everything, when not given), in the store and in this worker's scratch."""
        backend().delete_prefix(f"{self.prefix}{name}/" if name else self.prefix)
        if self.staged:
            root = work_root(self.keys) / self.relative
            shutil.rmtree(root / name if name else root, True)

    def delete(self, name: str) -> None:
        """The output's file `name`, in the store and in this worker's scratch."""
        backend().delete(self.prefix + name)
        if self.staged:
            (work_root(self.keys) / self.relative / name).unlink(missing_ok=True)

    def drop_workspace(self, part: int | str) -> None:
        """A job's local folder once its part is served (staged; the local backend's is the output itself)."""
        if self.staged:
            shutil.rmtree(self.workspace(part), ignore_errors=True)


def whole_jpeg(path: Path) -> bytes | None:
    """The JPEG at `path`, if it is whole now. FFmpeg rewrites the thumbnail for each frame it considers
    (`-update 1`): a file sent while it is rewritten is cut short, and a store given a shorter body than the
    length announced waits for the rest (measured: a job stuck for three 60 s read time-outs)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data if data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9" else None


def content_type_of(name: str) -> str | None:
    return CONTENT_TYPES.get(PurePosixPath(name).suffix)


CONTENT_TYPES = {
    **hls_output.MEDIA_TYPES,
    ".m3u8": "application/vnd.apple.mpegurl",
    ".jpg": "image/jpeg",
    ".json": "application/json",
}


def sheet_names(folder: Path) -> list[str]:
    """The whole storyboard sheets in `folder` (not FFmpeg's `.tmp` files of sheets being written)."""
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if storyboards.SHEET.fullmatch(path.name))


class Publisher:
    """Copies a growing output from the work root to the store: every segment once its playlist lists it,
    then the playlists, the master and thumbnail once there; each file once (playlists again when changed).
    Nothing to do for the local backend, whose work root is the store, unless the film is sealed (`keys`):
    then, on either backend, each segment is sealed on its way and each media playlist keyed."""

    def __init__(self, folder: Path, relative: str, keys: FilmKeys | None = None):
        self.folder = folder
        self.prefix = relative.rstrip("/") + "/"
        self.keys = keys
        self.staged = staged(keys)
        self.sent: dict[str, str] = {}  # relative name -> digest of what was sent

    def _send(self, name: str, content_type: str, data: bytes | None = None) -> None:
        path = self.folder / name
        if data is None and name in self.sent:
            return  # segments and the thumbnail never change once whole
        if self.keys is not None and name.endswith(".m3u8"):
            data = self.keys.keyed_named(name, data.decode()).encode()
        elif self.keys is not None and sealed_name(name):
            data = self.keys.seal_named(name, path.read_bytes())
        digest = hashlib.blake2b(data, digest_size=16).hexdigest() if data is not None else "file"
        if self.sent.get(name) == digest:
            return
        if data is None:
            backend().put_file(self.prefix + name, path, content_type)
        else:
            backend().put_bytes(self.prefix + name, data, content_type)
        self.sent[name] = digest

    def publish(self, rungs: list[Rung], watchable: bool, also: Sequence[str] = ()) -> None:
        """Send what is new, of the renditions and the other playlist folders `also` (the alternate audio
        tracks). `watchable`: the first segments exist, so the master and thumbnail go too."""
        if not self.staged:
            return
        for name in hls_output.playlist_folders(rungs, also):
            playlist = self.folder / name / "index.m3u8"
            if not playlist.is_file():
                continue
            text = playlist.read_bytes()
            for file in hls_output.media_files(text.decode()):
                self._send(f"{name}/{file}", hls_output.MEDIA_TYPES.get(Path(file).suffix, "video/MP2T"))
            self._send(f"{name}/index.m3u8", "application/vnd.apple.mpegurl", text)
        if watchable:
            self._send_storyboard()
            if (thumbnail := whole_jpeg(self.folder / "thumbnail.jpg")) is not None:
                self._send("thumbnail.jpg", "image/jpeg", thumbnail)  # again if FFmpeg picked a later frame
            if (self.folder / FAST_MASTER).is_file():  # (before the master that no longer lists it)
                fast = (self.folder / FAST_MASTER).read_bytes()
                self._send(FAST_MASTER, "application/vnd.apple.mpegurl", fast)
            if (self.folder / "master.m3u8").is_file():
                data = (self.folder / "master.m3u8").read_bytes()
                self._send("master.m3u8", "application/vnd.apple.mpegurl", data)

    def _send_storyboard(self) -> None:
        """The storyboard's plan and its sheets, each once it is whole (FFmpeg renames a sheet into place)."""
        if not (self.folder / storyboards.LAYOUT).is_file():
            return
        self._send(storyboards.LAYOUT, "application/json", (self.folder / storyboards.LAYOUT).read_bytes())
        for name in sheet_names(self.folder / storyboards.FOLDER):
            self._send(f"{storyboards.FOLDER}/{name}", "image/jpeg")

    def discard_local(self) -> None:
        """The output is in the store: the scratch copy goes."""
        if self.staged:
            shutil.rmtree(self.folder, ignore_errors=True)


__all__ = [
    "Output",
    "Publisher",
    "Source",
    "StorageUnavailable",
    "backend",
    "remove_outputs",
    "remove_video",
    "work_root",
]
