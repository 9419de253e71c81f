"""Playback sessions (`models.playback`): begun at a film's first playlist, renewed while the player fetches,
checked wherever segments are served; and the screens an account may watch on at once.

A screen is one login session (a browser, a device): every film and player of one login session counts once, so
the existing frontend's muted preview beside its main player takes no second screen. A playback not renewed for
PLAYBACK_IDLE seconds stops counting (a closed tab frees its screen within a minute); when its player comes back
(a long pause), it starts again, if the account has a screen free.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from cachetools import LRUCache, TTLCache
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from videoflix.core.hls_keys import derive_key
from videoflix.core.models import AuthSession, PlaybackSession, User, Video, VideoKey

from ..caches import LockedCache
from ..errors import Conflict, NotFound, PermissionDenied
from .accounts import utcnow

#: seconds without a renewal after which a playback no longer counts as a screen
PLAYBACK_IDLE = 60
#: a process renews a playback it has seen at most this often (players fetch a segment every few seconds)
RENEW_EVERY = 15.0
#: (login session, film) -> the output its playback began on ("" before the film had one)
_renewed: LockedCache[str] = LockedCache(TTLCache(maxsize=65536, ttl=RENEW_EVERY))
#: a sealed film's seed never changes (a film is sealed once); a deleted film's playbacks go with it, so its keys
#: stop with them (within RENEW_EVERY, as its segments do), whatever this holds
_seeds: LockedCache[bytes] = LockedCache(LRUCache(maxsize=4096))
#: a process purges stale playbacks at most this often (at a start: not at every one, which a crowd starting
#: at once would each pay for); when it last did, by its services' clock
PURGE_EVERY = timedelta(seconds=10)
_purged_at: dict[str, datetime] = {}


#: a playback not renewed for this long is deleted (by the starts of others, a few at a time): longer than any
#: signed link naming it lives (SEGMENT_URL_SECONDS, 6 h by default), so a paused player's links keep working
KEEP = timedelta(days=1)


def _purge(now: datetime) -> sa.Delete:
    stale = (
        sa.select(PlaybackSession.id)
        .where(PlaybackSession.seen_at < now - KEEP)
        .limit(10)
        .with_for_update(skip_locked=True)
    )
    return sa.delete(PlaybackSession).where(PlaybackSession.id.in_(stale.scalar_subquery()))


class ScreensFull(Conflict):
    def __init__(self, screens: int):
        super().__init__(
            f"This account is already watching on {screens} screen{'s' if screens != 1 else ''}, the most it may "
            "at once. Stop playback on another screen (it is freed within a minute) and try again."
        )


@dataclass(frozen=True)
class Viewer:
    """Who asks to play: the account, its login session (a screen), and the client's address."""

    user_id: int
    login_session: uuid.UUID
    address: str | None = None


@dataclass(frozen=True)
class Watching:
    """A live playback, as operators see it."""

    playback: PlaybackSession
    email: str
    title: str


class PlaybackService:
    def __init__(
        self,
        dbsession: Session,
        screens: int = 0,
        bind_address: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = dbsession
        self.screens = screens
        self.bind_address = bind_address
        self.clock = clock
        self.idle = timedelta(seconds=PLAYBACK_IDLE)

    def start(self, viewer: Viewer, video_id: int, begun: bool = False) -> PlaybackSession:
        """At a playlist of the film: the viewer's playback of it, renewed, or begun (again) if the account has a
        screen free (else ScreensFull, 409); NotFound for a film that does not exist. `begun`: only a playback
        this login session has begun goes on (PermissionDenied otherwise: a key asked before any playlist)."""
        now = self.clock()
        playback = self.db.scalar(
            sa.select(PlaybackSession).where(
                PlaybackSession.auth_session_id == viewer.login_session, PlaybackSession.video_id == video_id
            )
        )
        if begun and playback is None:
            raise PermissionDenied("Start the film's playback before asking for its keys.")
        if playback is None or playback.seen_at <= now - self.idle:
            self._screen_free(viewer, now)
            if not timedelta(0) <= now - _purged_at.get("last", now - PURGE_EVERY) < PURGE_EVERY:  # (races: harmless)
                _purged_at["last"] = now
                self.db.execute(_purge(now), execution_options={"synchronize_session": False})
        # from the film's row, so a film that does not exist (or was just deleted) gets no playback: a 404
        row = sa.select(
            sa.literal(uuid.uuid4(), sa.Uuid), sa.literal(viewer.login_session, sa.Uuid),
            sa.literal(viewer.user_id), Video.id, sa.literal(viewer.address, sa.String),
            sa.literal(now, sa.DateTime(timezone=True)), sa.literal(now, sa.DateTime(timezone=True)), Video.hls_path,
        ).where(Video.id == video_id)  # fmt: skip
        columns = ["id", "auth_session_id", "user_id", "video_id", "address", "started_at", "seen_at", "output"]
        statement = insert(PlaybackSession).from_select(columns, row)
        upsert = statement.on_conflict_do_update(
            constraint="uq_playback_sessions_auth_session_id",
            set_={
                "seen_at": now, "address": statement.excluded.address,
                # pinned once: the output it began on serves it to the end (`models.playback`)
                "output": sa.func.coalesce(PlaybackSession.output, statement.excluded.output),
            },
        ).returning(PlaybackSession)  # fmt: skip
        # the row as written, in one round trip (the session's copy, if it holds one, refreshed)
        playback = self.db.scalars(upsert, execution_options={"populate_existing": True}).one_or_none()
        if playback is None:
            raise NotFound("No such file for this video.")
        _renewed.put((viewer.login_session, video_id), playback.output or "")
        return playback

    def renew(self, viewer: Viewer, video_id: int) -> str | None:
        """At a segment the app serves: the playback renewed, at most every RENEW_EVERY seconds per process;
        the output it began on (None: the film had none yet)."""
        output = _renewed.get((viewer.login_session, video_id))
        if output is None:
            output = self.start(viewer, video_id).output
        return output or None

    def key(self, viewer: Viewer, video_id: int, index: int) -> bytes:
        """Key `index` of a sealed film (`videoflix.core.hls_keys`), for a viewer whose login session has begun
        playing it (its playlist fetched first, as every player does); the playback goes on with it (renewed,
        or begun again after a long pause if a screen is free: ScreensFull otherwise). PermissionDenied with no
        playback begun; NotFound for a film that is not sealed or does not exist. A playback this process
        renewed within RENEW_EVERY, of a film whose seed it has read, costs no query."""
        if _renewed.get((viewer.login_session, video_id)) is None:
            self.start(viewer, video_id, begun=True)
        if (seed := _seeds.get(video_id)) is None:
            found = self.db.scalar(sa.select(VideoKey.seed).where(VideoKey.video_id == video_id))
            if found is None:
                raise NotFound("This video has no keys.")
            seed = _seeds.put(video_id, bytes(found))
        return derive_key(seed, index)

    def check(self, playback_id: str, video_id: int, user_id: int | None, address: str | None) -> bool:
        """nginx's question before it serves a link of a playback session: is the playback live for this film
        and viewer? Its login session must be (not logged out, not revoked, account active), its film must exist
        (deleting the film deletes its playback sessions), and with PLAYBACK_BIND_ADDRESS the client must be at
        the address it started from. A yes renews it; one idle too long starts again if a screen is free."""
        try:
            pid = uuid.UUID(playback_id)
        except ValueError:
            return False
        now = self.clock()
        row = self.db.execute(
            sa.select(PlaybackSession, AuthSession.revoked_at, AuthSession.expires_at, User.is_active)
            .join(AuthSession, AuthSession.id == PlaybackSession.auth_session_id)
            .join(User, User.id == PlaybackSession.user_id)
            .where(PlaybackSession.id == pid)
        ).one_or_none()
        if row is None:
            return False
        playback, revoked_at, expires_at, active = row
        if playback.video_id != video_id or (user_id is not None and playback.user_id != user_id):
            return False
        if revoked_at is not None or expires_at <= now or not active:
            return False
        if self.bind_address and playback.address != address:
            return False
        if playback.seen_at <= now - self.idle:
            try:
                self._screen_free(Viewer(playback.user_id, playback.auth_session_id, address), now)
            except ScreensFull:
                return False
        playback.seen_at = now
        return True

    def watching(self, limit: int = 200, user_id: int | None = None) -> Sequence[Watching]:
        """The playbacks live now (renewed within PLAYBACK_IDLE, login session open), the latest first."""
        now = self.clock()
        query = (
            sa.select(PlaybackSession, User.email, Video.title)
            .join(AuthSession, AuthSession.id == PlaybackSession.auth_session_id)
            .join(User, User.id == PlaybackSession.user_id)
            .join(Video, Video.id == PlaybackSession.video_id)
            .where(
                PlaybackSession.seen_at > now - self.idle,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
                User.is_active.is_(True),
            )
            .order_by(PlaybackSession.seen_at.desc())
            .limit(limit)
        )
        if user_id is not None:
            query = query.where(PlaybackSession.user_id == user_id)
        return [Watching(playback, email, title) for playback, email, title in self.db.execute(query)]

    def _screen_free(self, viewer: Viewer, now: datetime) -> None:
        """Refuse a playback that would take the account past its screens (SCREENS_PER_ACCOUNT; 0: no limit).
        The account's row is locked first, so two screens starting at once cannot both take the last one."""
        if not self.screens:
            return
        self.db.execute(sa.select(User.id).where(User.id == viewer.user_id).with_for_update())
        others = self.db.scalar(
            sa.select(sa.func.count(sa.distinct(PlaybackSession.auth_session_id)))
            .join(AuthSession, AuthSession.id == PlaybackSession.auth_session_id)
            .where(
                PlaybackSession.user_id == viewer.user_id,
                PlaybackSession.auth_session_id != viewer.login_session,
                PlaybackSession.seen_at > now - self.idle,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        )
        if (others or 0) >= self.screens:
            raise ScreensFull(self.screens)
