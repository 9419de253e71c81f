"""Database wiring: the engine in the registry, one session per request joined to `request.tm`.

Tests put a connection with an open outer transaction into `environ["videoflix.db_connection"]`; the
request's session then works in a savepoint of it, so pyramid_tm's commit (and its after-commit mails)
happen for real while the test's data is still rolled back at the end.
"""

from __future__ import annotations

import sqlalchemy as sa
import zope.sqlalchemy
from sqlalchemy.orm import Session, sessionmaker

from .mail import OutgoingMail
from .meta import Base
from .playback import PlaybackSession
from .rate_limit import RateLimitCounter
from .subtitle import Subtitle
from .transcript import Transcript
from .upload import Upload
from .user import AccountAudit, AccountToken, AuthSession, TokenPurpose, User
from .video import OutboxEvent, Video, VideoPart, VideoStatus
from .video_key import VideoKey
from .viewing import PlaybackStart, VideoView, WatchProgress
from .worker import Worker

__all__ = [
    "AccountAudit",
    "AccountToken",
    "AuthSession",
    "Base",
    "OutboxEvent",
    "OutgoingMail",
    "PlaybackSession",
    "PlaybackStart",
    "RateLimitCounter",
    "Subtitle",
    "TokenPurpose",
    "Transcript",
    "Upload",
    "User",
    "Video",
    "VideoKey",
    "VideoPart",
    "VideoStatus",
    "VideoView",
    "WatchProgress",
    "Worker",
    "get_engine",
    "get_session_factory",
]

TEST_CONNECTION_KEY = "videoflix.db_connection"


def get_engine(settings: dict, prefix: str = "sqlalchemy.") -> sa.Engine:
    return sa.engine_from_config(settings, prefix, pool_pre_ping=True)


def get_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory: sessionmaker[Session], transaction_manager, connection=None) -> Session:
    """A session whose commit/abort follows `transaction_manager` (pyramid_tm's `request.tm`)."""
    if connection is not None:
        session = session_factory(bind=connection, join_transaction_mode="create_savepoint")
    else:
        session = session_factory()
    zope.sqlalchemy.register(session, transaction_manager=transaction_manager)
    return session


def includeme(config) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    settings.setdefault("tm.annotate_user", "false")  # nothing reads it; it would cost an identity lookup
    config.include("pyramid_tm")

    engine = settings.get("videoflix.engine") or get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["dbengine"] = engine

    def dbsession(request) -> Session:
        session = get_tm_session(session_factory, request.tm, request.environ.get(TEST_CONNECTION_KEY))
        request.add_finished_callback(lambda _request: session.close())
        return session

    config.add_request_method(dbsession, reify=True)
