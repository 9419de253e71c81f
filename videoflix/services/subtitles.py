"""Subtitle tracks as plain code: add (an operator's WebVTT or SRT, checked and stored as WebVTT), list, read,
remove; and the two facts HLS needs from a video's output (which tracks the master lists, and the
renditions' first timestamp that the WebVTT files are tied to).

Objects and rows agree as videos' do (videoflix/transactions.py): a track's object gets a new key each time,
is removed again if the transaction fails, and the object it replaces is removed only once the replacement
has committed, so a failure never leaves a row without its file.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy.orm import Session

from videoflix.core import events, outbox, transcripts
from videoflix.core.ladders import FAST_MASTER, fast_variant
from videoflix.core.models import Subtitle, Transcript, Video, VideoPart, VideoStatus
from videoflix.core.models.subtitle import AUTO, OPERATOR, UPLOAD
from videoflix.core.models.video import WATCHABLE
from videoflix.core.storage import BadKey, Storage, check_key, video_key
from videoflix.core.subtitles import (
    Cue,
    SubtitleError,
    Track,
    clean_text,
    default_label,
    read_cues,
    webvtt_text,
)

from ..caches import LockedCache
from ..core import mpegts
from ..errors import Conflict, InvalidInput, NotFound
from ..transactions import after_commit, after_failure

#: an output folder -> its renditions' first timestamp (90 kHz): an output's first segment never changes
_first_pts: LockedCache[int] = LockedCache(TTLCache(maxsize=4096, ttl=3600))


class SubtitleService:
    def __init__(self, dbsession: Session, storage: Storage, transaction_manager=None):
        self.db = dbsession
        self.storage = storage
        self.tm = transaction_manager

    def add(self, video_id: int, language: str, label: str, data: bytes, origin: str = UPLOAD) -> Subtitle:
        """The file `data` (WebVTT or SRT, checked: InvalidInput names the line to fix) as the video's track of
        `language` (a standard tag), replacing any track of that language. The track of the transcript's
        language (an operator's correction of the automatic one) gives the transcript its text."""
        video = self.db.get(Video, video_id)
        if video is None:
            raise NotFound("No video with this id.")
        try:
            cues = read_cues(data)
        except SubtitleError as exc:
            raise InvalidInput.field("file", str(exc)) from None
        key = f"{video_key(video_id)}subtitles/{language}.{uuid.uuid4().hex[:12]}.vtt"
        self.storage.put_bytes(key, webvtt_text(cues).encode(), "text/vtt")
        after_failure(self.tm, lambda: self.storage.delete(key))
        track = self.db.get(Subtitle, (video_id, language), with_for_update=True)
        if track is None:
            track = Subtitle(video_id=video_id, language=language)
            self.db.add(track)
        else:
            replaced = track.key
            after_commit(self.tm, lambda: self.storage.delete(replaced))
        track.label, track.key, track.origin, track.cues = label, key, origin, len(cues)
        self.db.flush()
        if transcripts.language_of(self.db, video_id) == language:  # the spoken language's track: its text now
            transcripts.save(self.db, video_id, language, origin, cues)
        return track

    def correct(self, video_id: int, language: str, cues: list[dict], label: str = "") -> Subtitle:
        """An operator's corrected cues ({start, end, text}, seconds) as the track of `language` (which must
        exist: NotFound), `origin` 'operator'; its label `label`, or the language's own name (an automatic
        track's "(automatic)" goes). The transcript follows it as it follows an uploaded track."""
        self._check_video(video_id, any_state=True)
        if self.db.get(Subtitle, (video_id, language)) is None:
            raise NotFound("This video has no subtitles in that language.")
        made = [Cue(round(c["start"] * 1000), round(c["end"] * 1000), clean_text(c["text"])) for c in cues]
        data = webvtt_text(made).encode()
        return self.add(video_id, language, label or default_label(language), data, origin=OPERATOR)

    def caption_again(self, video_id: int, language: str = "", model: str = "") -> None:
        """Have the workers caption a ready film's speech again, in `language` ("": detected) with `model` ("":
        CAPTION_MODEL): its automatic tracks go now (their objects once this commits), with the transcript
        they gave (not one an operator's track gives) and any plan of its speech in flight (its workers find
        their claims gone); the job is queued in the same transaction."""
        video = self._check_video(video_id, any_state=True)
        if video.status != VideoStatus.READY:
            raise Conflict("Only a ready film's speech can be captioned; wait until it is ready.")
        for track in self.db.scalars(sa.select(Subtitle).where(Subtitle.video_id == video_id, Subtitle.origin == AUTO)):
            key = track.key
            self.db.delete(track)
            after_commit(self.tm, lambda key=key: self.storage.delete(key))
        transcript = self.db.get(Transcript, video_id)
        if transcript is not None and transcript.origin == AUTO:
            transcripts.remove(self.db, video_id)
        self.db.execute(
            sa.delete(VideoPart).where(VideoPart.video_id == video_id, VideoPart.ladder == VideoPart.CAPTIONS)
        )
        self.db.flush()
        outbox.enqueue(
            self.db, [(events.CAPTIONS, str(video_id), events.captions(video_id, video.source_path, language, model))]
        )

    def tracks(self, video_id: int, any_state: bool = False) -> list[Subtitle]:
        """The video's tracks by language; a viewer's (not `any_state`) only of a watchable video, else
        NotFound, as the catalog shows it."""
        self._check_video(video_id, any_state)
        return list(
            self.db.scalars(sa.select(Subtitle).where(Subtitle.video_id == video_id).order_by(Subtitle.language))
        )

    def master_tracks(self, video_id: int) -> list[Track]:
        """What the master playlist lists: language and label of each track (one query; none: the stored
        master goes out as it is)."""
        rows = self.db.execute(
            sa.select(Subtitle.language, Subtitle.label)
            .where(Subtitle.video_id == video_id)
            .order_by(Subtitle.language)
        )
        return [Track(language, label) for language, label in rows]

    def track(self, video_id: int, language: str, any_state: bool = False) -> tuple[Subtitle, Video]:
        """One track and its video (NotFound if either is missing, or for a viewer, not watchable)."""
        video = self._check_video(video_id, any_state)
        track = self.db.get(Subtitle, (video_id, language))
        if track is None:
            raise NotFound("This video has no subtitles in that language.")
        return track, video

    def delete(self, video_id: int, language: str) -> bool:
        """Remove a track (its object once that has committed), and the transcript that follows it; whether
        there was one."""
        self._check_video(video_id, any_state=True)
        track = self.db.get(Subtitle, (video_id, language))
        if track is None:
            return False
        key = track.key
        self.db.delete(track)
        self.db.flush()
        if transcripts.language_of(self.db, video_id) == language:  # it went with its track
            transcripts.remove(self.db, video_id)
        after_commit(self.tm, lambda: self.storage.delete(key))
        return True

    def text(self, track: Subtitle) -> str:
        return self._read_text(track.key)

    def first_pts(self, folder: str) -> int | None:
        """The first timestamp of the output in `folder`, read from the head of the first segment of the first
        rendition its master lists (all renditions of an encode share their timestamps); None while there is
        no segment to read."""
        cached = _first_pts.get(folder)
        if cached is not None:
            return cached
        try:
            variant = _first_ts_variant(self._read_text(f"{folder}/master.m3u8")) or _first_ts_variant(
                self._read_text(f"{folder}/{FAST_MASTER}")
            )
            playlist = check_key(f"{folder}/{variant}") if variant else None
            segment = _first_uri(self._read_text(playlist)) if playlist else None
            if segment is None:
                return None
            head = b"".join(
                self.storage.read(check_key(f"{playlist.rsplit('/', 1)[0]}/{segment}"), 0, mpegts.HEAD_BYTES - 1)
            )
        except (FileNotFoundError, BadKey):
            return None
        pts = mpegts.first_pts(head)
        return pts if pts is None else _first_pts.put(folder, pts)

    def _read_text(self, key: str) -> str:
        return b"".join(self.storage.read(key)).decode()

    def _check_video(self, video_id: int, any_state: bool) -> Video:
        return visible_video(self.db, video_id, any_state)


def visible_video(db: Session, video_id: int, any_state: bool) -> Video:
    """The video, if the asker may see it: staff (`any_state`) any, a viewer a watchable one; else NotFound,
    as the catalog shows it."""
    video = db.get(Video, video_id)
    if video is None or not (any_state or video.status in WATCHABLE):
        raise NotFound("No video with this id.")
    return video


def _first_ts_variant(master: str) -> str | None:
    """The first H.264 (MPEG-TS) variant a master lists (`<rung>/index.m3u8`; a further ladder's are
    `<ladder>/<rung>/…`, fMP4): None where a replacing ladder took their place (`FAST_MASTER` still lists them)."""
    uris = (line for line in master.splitlines() if line and not line.startswith("#"))
    return next((uri for uri in uris if fast_variant(uri)), None)


def _first_uri(playlist: str) -> str | None:
    """The first URI line of an HLS playlist (its first variant, or its first segment)."""
    return next((line for line in playlist.splitlines() if line and not line.startswith("#")), None)
