"""A film's transcript (`GET /api/video/{id}/transcript/`): what is said in it as timed paragraphs, or with
`?q=` the times where words are said, so a player can seek there. Viewers read those of watchable films,
staff any (the console), as subtitle tracks."""

from __future__ import annotations

from pyramid.view import view_config

from videoflix.services.transcripts import paragraphs_json

from ..security import AUTHENTICATED, STAFF
from .params import search_param


@view_config(route_name="transcript", request_method="GET", renderer="json", permission=AUTHENTICATED)
def transcript(request):
    """`{language, origin, words, paragraphs: [{start, end, text, lines}]}`; with `?q=`,
    `{language, origin, q, places: [{start, end, text}]}` (seconds). 404 while the film has none."""
    video_id = int(request.matchdict["id"])
    any_state = request.has_permission(STAFF)
    typed, words = search_param(request)
    found = request.transcripts.transcript(video_id, any_state)
    answer = {"language": found.language, "origin": found.origin}
    if words is None:
        return answer | {"words": found.words, "paragraphs": paragraphs_json(found)}
    places = request.transcripts.places(video_id, words, any_state)
    return answer | {"q": typed, "places": [{"start": p.start, "end": p.end, "text": p.text} for p in places]}
