"""Services on the request: each a plain class built from the request's session and the settings, so
business logic stays testable without HTTP (construct the class directly)."""

from __future__ import annotations

from ..passwords import Hasher
from .account_admin import AccountAdmin
from .accounts import AccountService
from .mail import AccountMails
from .playback import PlaybackService
from .resumable_uploads import ResumableUploadService
from .service_panel import ServicePanel
from .sessions import SessionService
from .subtitles import SubtitleService
from .throttle import Throttle
from .transcripts import TranscriptService
from .videos import VideoService
from .viewing import ViewingService


def includeme(config) -> None:
    hasher = Hasher()

    def accounts(request) -> AccountService:
        return AccountService(request.dbsession, request.registry["videoflix.settings"], hasher)

    def auth_sessions(request) -> SessionService:
        settings = request.registry["videoflix.settings"]
        return SessionService(request.dbsession, settings.refresh_token_ttl, max_age=settings.session_max_age)

    def account_mails(request) -> AccountMails:
        registry = request.registry
        return AccountMails(
            registry["videoflix.mail_outbox"], request.dbsession, request.tm, registry["videoflix.settings"]
        )

    def videos(request) -> VideoService:
        registry = request.registry
        return VideoService(
            request.dbsession, registry["videoflix.settings"], request.tm, registry["videoflix.storage"]
        )

    def resumable_uploads(request) -> ResumableUploadService:
        registry = request.registry
        storage = registry["videoflix.storage"]
        return ResumableUploadService(request.dbsession, registry["videoflix.settings"], request.tm, storage)

    def viewing(request) -> ViewingService:
        return ViewingService(request.dbsession)

    def subtitles(request) -> SubtitleService:
        return SubtitleService(request.dbsession, request.registry["videoflix.storage"], request.tm)

    def transcripts(request) -> TranscriptService:
        return TranscriptService(request.dbsession)

    def account_admin(request) -> AccountAdmin:
        return AccountAdmin(request.dbsession)

    def playback(request) -> PlaybackService:
        settings = request.registry["videoflix.settings"]
        return PlaybackService(request.dbsession, settings.screens_per_account, settings.playback_bind_address)

    def throttle(request) -> Throttle:
        return Throttle(request.dbsession)

    def service_panel(request) -> ServicePanel:
        settings = request.registry["videoflix.settings"]
        return ServicePanel(
            request.dbsession, settings.storage.backend, settings.media_root, settings.storage_quota_bytes
        )

    config.add_request_method(accounts, reify=True)
    config.add_request_method(account_admin, reify=True)
    config.add_request_method(playback, reify=True)
    config.add_request_method(throttle, reify=True)
    config.add_request_method(service_panel, reify=True)
    config.add_request_method(videos, reify=True)
    config.add_request_method(viewing, reify=True)
    config.add_request_method(subtitles, reify=True)
    config.add_request_method(transcripts, reify=True)
    config.add_request_method(resumable_uploads, reify=True)
    config.add_request_method(auth_sessions, reify=True)
    config.add_request_method(account_mails, reify=True)
