"""The pipeline's topics. Keys are the video id (bytes), so all events of a video share a partition and
stay in order; values are JSON, read into records with `Record.from_payload`."""

from __future__ import annotations

from videoflix.core import events
from videoflix.core.models import VideoPart

from .app import app


def _topic(name: str):
    """A topic of the pipeline; created with TOPIC_PARTITIONS partitions (the app's `topic_partitions`)."""
    return app.topic(name, key_serializer="raw", value_serializer="json")


uploaded = _topic(events.UPLOADED)
progress = _topic(events.PROGRESS)
processed = _topic(events.PROCESSED)
dead_letter = _topic(events.DEAD_LETTER)
#: keyed by video and part, so one film's parts spread over the partitions, hence over the workers
parts = _topic(events.PARTS)
#: keyed alike: a ready film's further ladders' parts, each worker's agent for them apart from the fast ones'
ladder_parts = _topic(events.LADDER_PARTS)
#: keyed by video: a film's captions are one job, on a topic of their own so that transcription scales apart
#: from the encoders
captions = _topic(events.CAPTIONS)


def key(video_id: int) -> bytes:
    return str(video_id).encode()


def part_key(video_id: int, part: int, ladder: str = VideoPart.FIRST_LADDER) -> bytes:
    """A job's key: a film's parts (of each ladder) spread over the partitions."""
    return (f"{video_id}:{part}" if ladder == VideoPart.FIRST_LADDER else f"{video_id}:{ladder}:{part}").encode()
