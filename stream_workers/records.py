"""The pipeline's events as faust.Records: the one definition the workers use.

The web tier writes `videos.uploaded` as plain JSON (videoflix/core/events.py); these records read it, and a
test checks that both agree. Records are JSON without Faust's metadata (`include_metadata=False`), keyed by
video id. `from_payload` is tolerant: it accepts the schema versions it knows and ignores unknown fields,
so an older worker can read a newer event and vice versa.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faust

from videoflix.core.events import SCHEMA
from videoflix.core.models import VideoPart


class InvalidEvent(ValueError):
    """A payload no version of this record can read: it goes to the dead-letter topic."""


class Event(faust.Record, serializer="json", include_metadata=False, abstract=True):
    KNOWN_SCHEMAS: ClassVar[frozenset[int]] = frozenset({1})

    @classmethod
    def from_payload(cls, payload: Any):
        if not isinstance(payload, dict):
            raise InvalidEvent(f"expected a JSON object, got {type(payload).__name__}")
        if payload.get("schema") not in cls.KNOWN_SCHEMAS:
            raise InvalidEvent(f"unknown schema version {payload.get('schema')!r}")
        known = {name: payload[name] for name in cls._options.fields if name in payload}
        try:
            record = cls(**known)
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(str(exc)) from None
        if not isinstance(record.video_id, int) or record.video_id <= 0:
            raise InvalidEvent(f"video_id must be a positive integer, got {record.video_id!r}")
        return record

    def payload(self) -> dict[str, Any]:
        return self.asdict()


class VideoUploaded(Event):
    """`videos.uploaded`: a source waits to be transcoded (`source` is relative to MEDIA_ROOT); `token`: the
    job's (`videos.job_token`), carried by every report of it."""

    video_id: int
    source: str
    attempt: int = 0
    token: str = ""
    schema: int = SCHEMA


class VideoProgress(Event):
    """`videos.progress`: a job started or advanced; throttled by the transcoder. `hls_path` names the output
    folder once the video is playable (its first segments exist), with the `renditions` being made; an
    empty `hls_path` says the job (re)started and there is nothing to watch yet; None leaves it as it is."""

    video_id: int
    progress: float
    attempt: int = 0
    hls_path: str | None = None
    renditions: list[dict[str, Any]] = []
    #: FFmpeg's speed (x realtime), the seconds still to go at that speed, and per rendition the media seconds
    #: published so far and their share of the film
    speed: float | None = None
    eta_seconds: float | None = None
    rendition_progress: dict[str, Any] = {}
    #: "" (the job's own progress), a further ladder's name (a ready film's ladder being made: its progress,
    #: speed and ETA; the film stays ready), or that name + ENDED (it gave up: nothing of it to show)
    stage: str = ""
    token: str = ""  # the job's (VideoUploaded.token)
    schema: int = SCHEMA


#: `VideoProgress.stage` of a ready film's further ladder that ended without a verdict: its name and this
ENDED = "-ended"


class VideoProcessed(Event):
    """`videos.processed`: a job ended, `ready` with its output or `failed` with a reason."""

    video_id: int
    status: str  # "ready" | "failed"
    renditions: list[dict[str, Any]] = []  # faust copies field defaults per instance
    hls_path: str | None = None
    thumbnail: str | None = None
    duration: float | None = None
    error: str | None = None
    attempt: int = 0
    token: str = ""  # the job's (VideoUploaded.token)
    schema: int = SCHEMA


class PartJob(Event):
    """`videos.parts`: one job of a transcode in parts, a time range of the film in every rendition of one
    `ladder` or (`part` -1) the whole film's audio, written to the plan's `output` folder. `media` holds the source's
    facts (videoflix.core.media.MediaInfo), so no job probes the source again."""

    video_id: int
    part: int
    output: str
    source: str
    start: float = 0.0
    length: float = 0.0
    media: dict[str, Any] = {}
    attempt: int = 0  # the upload event's, for the progress reports
    #: the film's rate control, decided once by the planning worker (its LADDER_CRF; None: the fixed
    #: ladder), so every part has one quality whichever worker encodes it
    crf: float | None = None
    token: str = ""  # the upload event's, for every report of the film
    #: the ladder the part makes (stream_workers/ladders.py): the first plan's, or a further one of a ready
    #: film (its own plan rows); an older worker's job, which has none, is the first plan's
    ladder: str = VideoPart.FIRST_LADDER
    #: a further ladder's part: where the film's H.264 renditions' timestamps start, which its own take
    #: (`ladder_parts.film_clock`); None, a job of an older worker: a film made in parts (`hls.PARTS_CLOCK`)
    clock: float | None = None
    schema: int = SCHEMA


class CaptionJob(Event):
    """`videos.captions`: a ready film's speech made into its automatic captions (`caption_jobs`): its
    `source`, and the `language` spoken if an operator named it or it was detected ("" to detect it). `part`
    -1 plans the film; a part's job names its stretch of the film (`start`, `length`) and its plan (`output`:
    the source key the plan was made for)."""

    video_id: int
    source: str
    language: str = ""
    attempt: int = 0
    token: str = ""  # the upload event's
    part: int = -1
    start: float = 0.0
    length: float = 0.0
    output: str = ""
    #: the speech model an operator chose for this film ("": CAPTION_MODEL)
    model: str = ""
    schema: int = SCHEMA


class DeadLetter(faust.Record, serializer="json", include_metadata=False):
    """`videos.dead-letter`: an event that could not be handled, kept with the reason for an operator."""

    topic: str
    reason: str
    payload: Any = None
    schema: int = SCHEMA
