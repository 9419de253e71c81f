"""Fixtures of the functional tests: the frontend helper, a logged-in operator, one real HLS output."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from webtest import TestApp

from stream_workers import ffmpeg_run, ladder_verdict
from stream_workers.av1_ladder import LADDER as AV1
from stream_workers.avc_ladder import LADDER as AVC
from stream_workers.film_steps import FilmSteps
from stream_workers.hevc_ladder import LADDER as HEVC
from stream_workers.hls_output import check_output
from videoflix.core import transcripts
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe
from videoflix.core.models import TEST_CONNECTION_KEY, Subtitle, Video, VideoStatus
from videoflix.core.models.subtitle import AUTO
from videoflix.core.subtitles import Cue, webvtt_text

from ..support.accounts import PASSWORD
from ..support.frontend import Frontend
from ..support.media import BEST_OUTPUT, OUTPUT
from ..support.tus import Tus


@pytest.fixture
def media_root(app_settings) -> Path:
    return Path(app_settings["videoflix.media_root"])


@pytest.fixture
def frontend(testapp, mailbox) -> Frontend:
    return Frontend(testapp, mailbox)


@pytest.fixture
def operator(frontend, dbsession) -> Frontend:
    """A logged-in staff account (made the way `videoflix user create --staff` makes one)."""
    from videoflix.config import build_settings
    from videoflix.passwords import Hasher
    from videoflix.services.accounts import AccountService

    accounts = AccountService(dbsession, build_settings({}), Hasher())
    accounts.register("operator@example.com", PASSWORD, is_staff=True, active=True)
    dbsession.commit()
    frontend.login("operator@example.com")
    return frontend


@pytest.fixture(scope="session")
def hls_output(app_settings, clips) -> Path:
    """A 640x360 2 s clip transcoded as the workers do: one 480p rendition at 360 lines (no upscaling), and
    the AV1 and HEVC ladders (AV1_LADDER=on, HEVC_LADDER=on), listed in the master."""
    out = Path(app_settings["videoflix.media_root"]) / OUTPUT
    out.mkdir(parents=True)
    facts = probe(clips["clip"])
    rungs = ladder_for(facts.short_side)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs).single_pass(ffmpeg_exe(), clips["clip"], out)))
    for ladder in (AV1, HEVC):
        ladder_verdict.make_folders(ladder, out, rungs)
        asyncio.run(
            ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs, ladder).ladder_pass(ffmpeg_exe(), clips["clip"], out))
        )
        check_output(out, rungs, ladder.folders(rungs))
        ladder_verdict.add_variants(ladder, out, [rung.name for rung in rungs])  # (as if measured as good as H.264)
    return out


@pytest.fixture(scope="session")
def best_output(hls_output, clips) -> Path:
    """The session's output with the best H.264 ladder (AVC_LADDER=on) made and listed: in the master in the fast
    ladder's place, the fast master kept beside it (`add_video(hls_path=BEST_OUTPUT)` serves it)."""
    out = hls_output.parents[2] / BEST_OUTPUT
    shutil.copytree(hls_output, out)
    facts = probe(clips["clip"])
    rungs = ladder_for(facts.short_side)
    ladder_verdict.make_folders(AVC, out, rungs)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs, AVC).ladder_pass(ffmpeg_exe(), clips["clip"], out)))
    check_output(out, rungs, AVC.folders(rungs))
    ladder_verdict.add_variants(AVC, out, [rung.name for rung in rungs])  # (as if measured as good as the fast)
    return out


@pytest.fixture
def add_video(dbsession, hls_output):
    """Add a video row (ready by default: its output is the one real HLS output); its id."""

    def add(status=VideoStatus.READY, title="A film", category="Drama", minutes_ago=0, **fields) -> int:
        video = Video(
            title=title,
            description=fields.pop("description", "About it"),
            category=category,
            status=status,
            source_path="x",
            hls_path=fields.pop("hls_path", OUTPUT if status in (VideoStatus.READY, VideoStatus.PLAYABLE) else None),
            duration=fields.pop("duration", 2.0),
            renditions=[{"name": "480p", "width": 640, "height": 360, "bandwidth": 1000000}],
            created_at=sa.func.now() - sa.text(f"interval '{minutes_ago} minutes'"),
            **fields,
        )
        dbsession.add(video)
        dbsession.commit()
        shared = hls_output.parents[2] / video.hls_path if video.hls_path else None
        if (
            shared is not None
            and shared.is_dir()
            and not shared.is_symlink()
            and not video.hls_path.startswith(f"videos/{video.id}/")
        ):  # a shared output (the session's real one, a test's own), hard-linked into the video's own folder,
            # the only place its files are served from (streaming.own_key)
            own = f"videos/{video.id}/{shared.name}"
            shutil.copytree(shared, hls_output.parents[2] / own, copy_function=os.link, dirs_exist_ok=True)
            video.hls_path = own
            dbsession.commit()
        return video.id

    return add


@pytest.fixture
def viewer(frontend):
    frontend.signed_up("viewer@example.com")
    return frontend


@pytest.fixture
def other_viewer(wsgi_app, connection, mailbox) -> Frontend:
    """A second viewer in a browser of their own (own cookies), on the same test database."""
    app = TestApp(wsgi_app, extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "127.0.0.1:8000"})
    other = Frontend(app, mailbox)
    other.signed_up("other@example.com")
    return other


@pytest.fixture
def tus(operator) -> Tus:
    return Tus(operator)


@pytest.fixture
def one_screen(wsgi_app, monkeypatch):
    settings = wsgi_app.registry["videoflix.settings"]
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", replace(settings, screens_per_account=1))


@pytest.fixture
def second_device(wsgi_app, connection, mailbox, viewer) -> Frontend:
    """The viewer's account logged in on a second device (its own cookies: another login session)."""
    app = TestApp(wsgi_app, extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "127.0.0.1:8000",
                                           "REMOTE_ADDR": "192.0.2.44"})  # fmt: skip
    device = Frontend(app, mailbox)
    device.login("viewer@example.com")
    return device


#: what the spoken films say (`spoken`): a pause of 3.5 s before the last cue
SAID = [
    Cue(500, 2400, "Welcome aboard the lighthouse tour."),
    Cue(2500, 4800, "The keeper's café opens"),
    Cue(4900, 6000, "at nine."),
    Cue(9500, 12000, "Mind the stairs, they are steep."),
]


@pytest.fixture
def spoken(dbsession, media_root):
    """Give a film the automatic track and transcript the workers record (stream_workers/db.record_captions)."""

    def speak(film: int, cues=SAID, language="en") -> None:
        key = f"videos/{film}/subtitles/{language}.auto-0000.vtt"
        (media_root / key).parent.mkdir(parents=True, exist_ok=True)
        (media_root / key).write_text(webvtt_text(list(cues)))
        dbsession.add(Subtitle(video_id=film, language=language, label="English (automatic)", key=key,
                               origin=AUTO, cues=len(cues)))  # fmt: skip
        transcripts.save(dbsession, film, language, AUTO, cues)
        dbsession.commit()

    return speak
