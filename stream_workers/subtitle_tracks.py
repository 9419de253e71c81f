"""Subtitle streams of an uploaded film as tracks viewers can choose: the job's own FFmpeg run writes each
text stream as WebVTT (`hls.subtitle_outputs`), and here each file is checked and cleaned as an operator's
upload is (videoflix.core.subtitles) and stored; the job records the tracks (`db.record_subtitles`) before it reports
the video ready. An operator's track of a language is never replaced by an extracted one
(stream_workers/db.py), and one track per language is kept (the first stream of it, as players default to).
"""

from __future__ import annotations

import logging
from pathlib import Path

from videoflix.core.media import MediaInfo, SubtitleStream
from videoflix.core.playlist_text import quoted_string
from videoflix.core.storage import video_key
from videoflix.core.subtitles import MAX_BYTES, SubtitleError, default_label, language_tag, read_cues, webvtt_text

from . import storage

log = logging.getLogger(__name__)

#: the language of a stream the container does not tag (BCP 47's "undetermined")
UNDETERMINED = "und"


def extraction_folder(output: Path, info: MediaInfo) -> Path | None:
    """Where a job's FFmpeg writes the subtitle streams (beside the output, which is published as it grows,
    not inside it); None when the source has no text subtitles."""
    if not any(stream.text for stream in info.subtitles):
        return None
    folder = output.with_name(output.name + "-subtitles")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stream_language(stream: SubtitleStream) -> str:
    """A stream's ISO 639-2 tag ("ger") as a standard BCP 47 one ("de"); UNDETERMINED if it has none."""
    try:
        return language_tag(stream.language)
    except ValueError:
        return UNDETERMINED


def collect(video_id: int, info: MediaInfo, folder: Path | None, notes: list[str] | None = None) -> list[dict]:
    """Store the extracted tracks in `folder` as the video's; what `db.record_subtitles` records of them
    ({language, label, key, cues}). A stream FFmpeg could not convert, that has no valid cue, or that is past
    an operator upload's bounds (MAX_BYTES, checked before a byte of it is read; MAX_CUES) is left out, why
    logged and appended to `notes`: the film is still ready."""
    tracks: list[dict] = []
    if folder is None:
        return tracks
    for stream in info.subtitles:
        path = folder / f"{stream.index}.vtt"
        language = stream_language(stream)
        if not stream.text or not path.is_file() or language in {t["language"] for t in tracks}:
            continue
        try:
            if path.stat().st_size > MAX_BYTES:  # (FFmpeg stopped writing it just past the bound)
                raise SubtitleError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
            cues = read_cues(path.read_bytes())
        except SubtitleError as exc:
            log.warning("video %s: subtitle stream %s left out (%s)", video_id, stream.index, exc)
            if notes is not None:
                notes.append(f"Subtitle stream {stream.index} ({language}) left out: {exc}")
            continue
        key = f"{video_key(video_id)}subtitles/{language}.source.vtt"
        storage.backend().put_bytes(key, webvtt_text(cues).encode(), "text/vtt")
        label = quoted_string(stream.title)  # (it goes into the master: playlist_text)
        label = label or (default_label(language) if language != UNDETERMINED else "Subtitles")
        tracks.append({"language": language, "label": label[:100], "key": key, "cues": len(cues)})
    return tracks
