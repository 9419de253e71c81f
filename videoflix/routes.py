"""Every route of the API, one a line, grouped by resource. Paths are the existing frontend's."""

from videoflix.core.ladders import FURTHER
from videoflix.core.media import RESOLUTIONS

#: only the ladder's names match: any other resolution is 404 before a view runs
RESOLUTION = "{resolution:" + "|".join(RESOLUTIONS) + "}"
#: a further ladder's folder (videoflix.core.ladders)
LADDER = "{ladder:" + "|".join(FURTHER) + "}"
#: an alternate audio track: its place among the source's audio streams
AUDIO_TRACK = r"{track:\d{1,2}}"
#: a subtitle track's language tag in a URL (checked as BCP 47 by the views)
LANGUAGE = "{language:[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,5}}"


def includeme(config) -> None:
    # for orchestrators: liveness and readiness
    config.add_route("health.live", "/healthz")
    config.add_route("health.ready", "/readyz")
    config.add_route("metrics", "/metrics")

    # accounts
    config.add_route("accounts.register", "/api/register/")
    config.add_route("accounts.activate", "/api/activate/{uidb64}/{token}/")
    config.add_route("accounts.login", "/api/login/")
    config.add_route("accounts.logout", "/api/logout/")
    config.add_route("accounts.token_refresh", "/api/token/refresh/")
    config.add_route("accounts.password_reset", "/api/password_reset/")
    config.add_route("accounts.password_confirm", "/api/password_confirm/{uidb64}/{token}/")

    # catalog (GET) and upload (POST, operators)
    config.add_route("videos.list", "/api/video/")
    config.add_route("videos.detail", r"/api/video/{id:\d+}/")
    config.add_route("videos.status", r"/api/video/{id:\d+}/status/")
    config.add_route("videos.retry", r"/api/video/{id:\d+}/retry/")
    # what each viewer watched: where they are in a video, and what they have started
    config.add_route("videos.watch_progress", r"/api/video/{id:\d+}/progress/")
    config.add_route("videos.continue", "/api/video/continue/")
    # subtitle tracks: listed and added (staff) per video; one language's WebVTT, its HLS playlist, its removal
    config.add_route("subtitles.list", r"/api/video/{id:\d+}/subtitles/")
    config.add_route("subtitles.file", r"/api/video/{id:\d+}/subtitles/" + LANGUAGE + ".vtt")
    config.add_route("subtitles.playlist", r"/api/video/{id:\d+}/subtitles/" + LANGUAGE + ".m3u8")
    config.add_route("subtitles.detail", r"/api/video/{id:\d+}/subtitles/" + LANGUAGE + "/")
    config.add_route("transcript", r"/api/video/{id:\d+}/transcript/")
    config.add_route("captions", r"/api/video/{id:\d+}/captions/")

    # operators' console API (staff)
    config.add_route("admin.videos", "/api/admin/videos/")
    config.add_route("admin.accounts", "/api/admin/accounts/")
    config.add_route("admin.account", r"/api/admin/accounts/{id:\d+}/")
    config.add_route("admin.audit", "/api/admin/audit/")
    config.add_route("admin.watching", "/api/admin/watching/")
    config.add_route("admin.service", "/api/admin/service/")
    # the operators' console: one page that uses the API above (staff)
    config.add_route("console", "/admin/")
    # nginx's auth_request for the upload locations: may this request's body be read at all?
    config.add_route("auth.upload_check", "/api/auth/upload-check/")
    # nginx's auth_request before it serves a signed segment link: is the playback session it names live?
    config.add_route("auth.playback_check", "/api/auth/playback-check/")
    # resumable uploads (tus 1.0.0; staff)
    config.add_route("uploads.collection", "/api/uploads/")
    config.add_route("uploads.detail", "/api/uploads/{id:[0-9a-f]{32}}/")

    # documentation: the OpenAPI document, the Redoc page, and vendored assets (Redoc, hls.js)
    config.add_route("docs.openapi", "/api/openapi.json")
    config.add_route("docs.page", "/api/docs/")
    config.add_static_view(name="api/static", path="videoflix:static", cache_max_age=86400)

    # streaming (patterns are strict: anything else is 404 before a view runs)
    config.add_route("stream.master", r"/api/video/{id:\d+}/master.m3u8")
    config.add_route("stream.thumbnail", r"/api/video/{id:\d+}/thumbnail.jpg")
    config.add_route("stream.storyboard_track", r"/api/video/{id:\d+}/storyboard.vtt")
    config.add_route("stream.storyboard_playlist", r"/api/video/{id:\d+}/storyboard.m3u8")
    config.add_route("stream.storyboard", r"/api/video/{id:\d+}/storyboard/{sheet:\d{1,7}}.jpg")
    config.add_route("stream.playlist", r"/api/video/{id:\d+}/" + RESOLUTION + r"/index.m3u8")
    config.add_route("stream.segment", r"/api/video/{id:\d+}/" + RESOLUTION + r"/{segment:\d{3,6}}.ts")
    config.add_route("stream.audio_playlist", r"/api/video/{id:\d+}/audio/" + AUDIO_TRACK + r"/index.m3u8")
    config.add_route("stream.audio_segment", r"/api/video/{id:\d+}/audio/" + AUDIO_TRACK + r"/{segment:\d{3,6}}.ts")
    # the further ladders (AV1, HEVC: fMP4, `<ladder>/<rung>/`): an init segment (`init.mp4`, `init_<n>.mp4` where
    # FFmpeg made several variants, `init-<part>.mp4` one per part of a film made in parts), then .m4s segments
    further = LADDER + "/" + RESOLUTION
    config.add_route("stream.fmp4_playlist", r"/api/video/{id:\d+}/" + further + r"/index.m3u8")
    init = r"/{init:init(?:_\d{1,2}|-\d{4,5})?}.mp4"
    config.add_route("stream.fmp4_init", r"/api/video/{id:\d+}/" + further + init)
    config.add_route("stream.fmp4_segment", r"/api/video/{id:\d+}/" + further + r"/{segment:\d{3,6}}.m4s")
    # a sealed film's keys (videoflix.core.hls_keys): its media playlists name them relative to themselves
    config.add_route("stream.key", r"/api/video/{id:\d+}/key/{index:\d{1,7}}.key")
    config.add_route("stream.segment_slash", r"/api/video/{id:\d+}/" + RESOLUTION + r"/{segment:\d{3,6}}.ts/")
