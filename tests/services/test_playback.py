"""PlaybackService over a real session: a playback lives with its login session, film and renewals; the screens
of an account are its login sessions with a live playback, counted once each, freed when idle."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from videoflix.core.models import PlaybackSession, Video, VideoStatus
from videoflix.services.playback import PLAYBACK_IDLE, PlaybackService, ScreensFull, Viewer
from videoflix.services.sessions import SessionService

from ..support.accounts import active_user


@pytest.fixture
def films(dbsession):
    made = [Video(title=f"Film {n}", description="", category="Drama", status=VideoStatus.READY, source_path="x")
            for n in range(2)]  # fmt: skip
    dbsession.add_all(made)
    dbsession.flush()
    return [video.id for video in made]


@pytest.fixture
def screens(dbsession, clock):
    def service(limit: int = 0, bind: bool = False) -> PlaybackService:
        return PlaybackService(dbsession, limit, bind, clock)

    return service


def screen(sessions: SessionService, user, address: str = "198.51.100.1") -> Viewer:
    return Viewer(user.id, sessions.start(user).id, address)


def test_one_login_session_is_one_screen_whatever_it_plays(accounts, sessions, screens, films):
    user = active_user(accounts)
    playback = screens(limit=1)
    tv, phone = screen(sessions, user), screen(sessions, user)
    first = playback.start(tv, films[0])
    assert playback.start(tv, films[0]).id == first.id  # a playlist again: the same playback, renewed
    playback.start(tv, films[1])  # the muted preview of another film: still one screen
    with pytest.raises(ScreensFull) as refused:
        playback.start(phone, films[0])
    assert refused.value.status == 409 and "1 screen," in refused.value.detail
    assert screens(limit=2).start(phone, films[0]).id != first.id
    assert screens().start(screen(sessions, user), films[0])  # 0: no limit


def test_an_idle_screen_is_freed_within_a_minute(accounts, sessions, screens, films, clock):
    user = active_user(accounts)
    playback = screens(limit=1)
    tv, phone = screen(sessions, user), screen(sessions, user)
    playback.start(tv, films[0])
    clock.advance(seconds=PLAYBACK_IDLE - 1)
    with pytest.raises(ScreensFull):
        playback.start(phone, films[0])
    clock.advance(seconds=2)
    playback.start(phone, films[0])  # the TV stopped renewing a minute ago
    with pytest.raises(ScreensFull):  # and when the TV comes back, the phone holds the screen
        playback.start(tv, films[0])


def test_a_logged_out_screen_is_freed_at_once(accounts, sessions, screens, films):
    user = active_user(accounts)
    playback = screens(limit=1)
    tv, phone = screen(sessions, user), screen(sessions, user)
    playback.start(tv, films[0])
    sessions.revoke(str(tv.login_session))
    playback.start(phone, films[0])


def test_the_check_follows_login_session_account_film_and_address(accounts, sessions, screens, films, dbsession):
    user = active_user(accounts)
    other = active_user(accounts, "other@example.com")
    tv = screen(sessions, user)
    played = screens(bind=True).start(tv, films[0])
    check = screens(bind=True).check
    assert check(str(played.id), films[0], user.id, tv.address)
    assert not check(str(played.id), films[1], user.id, tv.address)  # another film's links
    assert not check(str(played.id), films[0], other.id, tv.address)  # links signed for someone else
    assert not check(str(played.id), films[0], user.id, "203.0.113.9")  # from elsewhere, bound
    assert screens(bind=False).check(str(played.id), films[0], user.id, "203.0.113.9")
    assert not check("not-a-uuid", films[0], user.id, tv.address)
    sessions.revoke(str(tv.login_session))
    assert not check(str(played.id), films[0], user.id, tv.address)  # logged out
    phone = screen(sessions, user)
    again = screens().start(phone, films[1])
    dbsession.delete(dbsession.get(Video, films[1]))
    dbsession.flush()
    assert not check(str(again.id), films[1], user.id, phone.address)  # the film is gone, and its playbacks
    assert dbsession.scalar(sa.select(sa.func.count()).where(PlaybackSession.id == again.id)) == 0


def test_a_check_renews_and_restarts_an_idle_playback_only_with_a_screen_free(accounts, sessions, screens, films,
                                                                            clock, dbsession):  # fmt: skip
    user = active_user(accounts)
    playback = screens(limit=1)
    tv, phone = screen(sessions, user), screen(sessions, user)
    played = playback.start(tv, films[0])
    clock.advance(seconds=30)
    assert playback.check(str(played.id), films[0], user.id, tv.address)
    assert dbsession.scalar(sa.select(PlaybackSession.seen_at).where(PlaybackSession.id == played.id)) == clock.now
    clock.advance(seconds=PLAYBACK_IDLE + 1)
    playback.start(phone, films[0])
    assert not playback.check(str(played.id), films[0], user.id, tv.address)  # paused long; the phone took it
    assert not playback.check(str(played.id), films[0], None, tv.address)  # (an S3 URL names no viewer)
    clock.advance(seconds=PLAYBACK_IDLE + 1)
    assert playback.check(str(played.id), films[0], user.id, tv.address)  # the phone is gone: it goes on


def test_operators_see_who_watches_what(accounts, sessions, screens, films, clock):
    user = active_user(accounts, "watcher@example.com")
    playback = screens()
    playback.start(screen(sessions, user), films[0])
    clock.advance(seconds=10)
    playback.start(screen(sessions, user, "192.0.2.5"), films[1])
    live = playback.watching(user_id=user.id)  # (the shared database may hold other accounts' playbacks)
    assert [(w.email, w.title, w.playback.address) for w in live] == [
        ("watcher@example.com", "Film 1", "192.0.2.5"), ("watcher@example.com", "Film 0", "198.51.100.1")]  # fmt: skip
    clock.advance(seconds=PLAYBACK_IDLE - 5)
    assert [w.title for w in playback.watching(user_id=user.id)] == ["Film 1"]
    assert clock.now - live[0].playback.seen_at < timedelta(seconds=PLAYBACK_IDLE)


def test_playbacks_idle_for_a_day_are_deleted_by_later_starts(accounts, sessions, screens, films, clock, dbsession):
    user = active_user(accounts)
    playback = screens()
    old = playback.start(screen(sessions, user), films[0])
    clock.advance(hours=23)
    playback.start(screen(sessions, user), films[0])
    assert dbsession.scalar(sa.select(sa.func.count()).where(PlaybackSession.id == old.id)) == 1  # within a day
    clock.advance(hours=2)
    playback.start(screen(sessions, user), films[1])
    assert dbsession.scalar(sa.select(sa.func.count()).where(PlaybackSession.id == old.id)) == 0
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(PlaybackSession)) == 2


def test_a_password_change_ends_every_playback_of_the_account(accounts, sessions, screens, films):
    user = active_user(accounts)
    tv = screen(sessions, user)
    played = screens().start(tv, films[0])
    assert screens().check(str(played.id), films[0], user.id, tv.address)
    accounts.set_password(user, "An-entirely-new-passphrase-8")
    assert not screens().check(str(played.id), films[0], user.id, tv.address)
    assert screens().watching(user_id=user.id) == []
