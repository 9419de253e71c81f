"""Subtitle tracks: operators add (WebVTT or SRT), correct (cue by cue) and remove them, and have a film's
speech captioned again; viewers list and read them, and HLS
players find them in the master playlist (views/streaming.py) as a subtitles group whose playlists are
answered here. Reading is behind the access cookie like segments; a viewer sees tracks of watchable videos
only, staff those of any video (the console)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from videoflix.core.media import uploads_dir
from videoflix.core.models import Subtitle
from videoflix.core.models.video import WATCHABLE
from videoflix.core.subtitles import (
    MAX_BYTES,
    default_label,
    language_tag,
    read_cues,
    subtitle_playlist,
    with_timestamp_map,
)

from ..errors import InvalidInput, NotFound
from ..multipart_upload import receive
from ..schemas import deserialize, json_body, validate
from ..schemas.subtitles import CaptionRequestSchema, CorrectionSchema, SubtitleSchema
from ..security import AUTHENTICATED, STAFF
from .streaming import playlist_response

VTT = "text/vtt"


def _video_id(request) -> int:
    return int(request.matchdict["id"])


def _language(request) -> str:
    try:
        return language_tag(request.matchdict["language"])
    except ValueError:
        raise NotFound("This video has no subtitles in that language.") from None


def track_json(request, track: Subtitle) -> dict:
    return {
        "language": track.language,
        "label": track.label,
        "url": request.route_url("subtitles.file", id=track.video_id, language=track.language),
        "origin": track.origin,
        "cues": track.cues,
        "created_at": track.created_at,
    }


@view_config(route_name="subtitles.list", request_method="POST", renderer="json", permission=STAFF)
def add_subtitles(request):
    """multipart: `file` (WebVTT or SRT, UTF-8, at most 2 MiB), `language` (BCP 47), `label` (optional) ->
    201 with the track. A track of the same language is replaced. A file that is not valid is 400 with the
    line to fix."""
    received = receive(request, uploads_dir(request.registry["videoflix.settings"].media_root), MAX_BYTES)
    try:
        fields = deserialize(SubtitleSchema(), received.fields)
        if received.path is None or received.size == 0:
            raise InvalidInput.field("file", "Attach a WebVTT or SRT file (form field 'file').")
        language = language_tag(fields["language"])
        label = fields["label"] or default_label(language)
        track = request.subtitles.add(_video_id(request), language, label, received.path.read_bytes())
    finally:
        received.discard()
    request.response.status_code = 201
    return track_json(request, track)


@view_config(route_name="subtitles.list", request_method="GET", renderer="json", permission=AUTHENTICATED)
def list_subtitles(request):
    """The video's tracks, by language: `[{language, label, url, ...}]`."""
    tracks = request.subtitles.tracks(_video_id(request), any_state=request.has_permission(STAFF))
    return [track_json(request, track) for track in tracks]


@view_config(route_name="subtitles.detail", request_method="GET", renderer="json", permission=AUTHENTICATED)
def subtitle_cues(request):
    """The track with its cues as JSON, for an operator's review: `{..., cues: [{start, end, text}]}`."""
    track, _ = request.subtitles.track(_video_id(request), _language(request), any_state=request.has_permission(STAFF))
    cues = read_cues(request.subtitles.text(track).encode())
    return track_json(request, track) | {
        "cues": [{"start": c.start_ms / 1000, "end": c.end_ms / 1000, "text": c.text} for c in cues]
    }


@view_config(route_name="subtitles.detail", request_method="PUT", renderer="json", permission=STAFF)
def correct_subtitles(request):
    """An operator's correction (staff): `{cues: [{start, end, text}], label?}` becomes the track, `origin`
    'operator'; 404 if the video has no track in that language."""
    fields = deserialize(CorrectionSchema(), json_body(request, MAX_BYTES))
    track = request.subtitles.correct(_video_id(request), _language(request), fields["cues"], fields["label"])
    return track_json(request, track)


@view_config(route_name="captions", request_method="POST", renderer="json", permission=STAFF)
def caption_again(request):
    """Caption a ready film's speech again (staff): `{language?, model?}`; its automatic tracks go now, the
    new one comes when the workers are done. 202."""
    fields = validate(request, CaptionRequestSchema())
    request.subtitles.caption_again(_video_id(request), fields["language"], fields["model"])
    request.response.status_code = 202
    return {"queued": True, "language": fields["language"], "model": fields["model"]}


@view_config(route_name="subtitles.detail", request_method="DELETE", permission=STAFF)
def delete_subtitles(request):
    """Remove a track (staff): 204, or 404 if the video has none in that language."""
    if not request.subtitles.delete(_video_id(request), _language(request)):
        raise NotFound("This video has no subtitles in that language.")
    return HTTPNoContent()


@view_config(route_name="subtitles.file", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def subtitle_file(request):
    """The track as WebVTT. For a video with renditions it carries HLS's X-TIMESTAMP-MAP header (ignored by
    a `<track>` element), which ties its cues to the renditions' timestamps."""
    staff = request.has_permission(STAFF)
    track, video = request.subtitles.track(_video_id(request), _language(request), any_state=staff)
    text = request.subtitles.text(track)
    if video.status in WATCHABLE and (pts := request.subtitles.first_pts(request.videos.output_folder(video.id))):
        text = with_timestamp_map(text, pts)
    return playlist_response(text, VTT)


@view_config(route_name="subtitles.playlist", request_method=("GET", "HEAD"), permission=AUTHENTICATED)
def subtitle_playlist_view(request):
    """One language's HLS media playlist (the master's subtitles group points here)."""
    track, video = request.subtitles.track(_video_id(request), _language(request))
    return playlist_response(subtitle_playlist(track.language, video.duration or 0.0))
