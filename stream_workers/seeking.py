"""Whether a source decodes cleanly from a seek (`MediaInfo.seeks`), checked once per film by the worker that
examines its upload.

Input seeking (`-ss` before `-i`) starts decoding at the keyframe before the point asked for. Some real files
mark frames as keyframes that are not (the real corpus' cockatoo, a camera's 720p20: "a non-intra slice in an
IDR NAL unit"): from a seek, the decoder misses every reference until the next real intra picture, and what
comes out is green garbage. Decoded from its start the same file is whole. Every run that seeks into such a
source sees garbage: the rate aim's samples scored the cockatoo's AV1 probes 86-91 VMAF where the whole film
scored 99 (it took CRF 20 and went unlisted), and a long film's parts would begin on it. So a source that
does not seek cleanly is read from its start (`reads_from_start`): made in one pass, never in parts
(`jobs.in_parts`), its samples and measurement windows decoded from the start and trimmed.

The check: decode a few pictures after a seek into the middle of the film; any decoder error (a missing
reference, a macroblock that cannot be decoded) means the file does not seek cleanly. A file that is damaged
there is read from its start too: the safe side.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from videoflix.core.containers import ObjectURL, input_options
from videoflix.core.media import MediaInfo

#: pictures decoded after the seek: the first GOP's references, and a few more
PICTURES = 12
#: a source shorter than this has no middle worth seeking to (and is read whole by every run anyway)
SHORTEST = 4.0


def command(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo) -> list[str]:
    """FFmpeg decoding PICTURES pictures of the video from the middle of the film (input seeking), printing
    only the decoder's errors."""
    middle = (info.duration or 0.0) / 2
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            *input_options(source, info.container, start=middle), "-map", "0:v:0",
            "-frames:v", str(PICTURES), "-f", "null", "-"]  # fmt: skip


def check(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, timeout: float = 60) -> MediaInfo:
    """`info`, with `seeks` False where decoding from a seek into the middle reports errors (blocking: run it
    in a thread). A film too short to seek into, without video, or whose check cannot run is left as it is."""
    if not info.has_video or not info.duration or info.duration < SHORTEST:
        return info
    try:
        result = subprocess.run(command(ffmpeg, source, info), capture_output=True, timeout=timeout, check=False)  # noqa: S603 - our FFmpeg, the one input helper
    except subprocess.TimeoutExpired:
        return info
    said = result.stderr.decode("utf-8", "replace").strip()
    return dataclasses.replace(info, seeks=False) if result.returncode == 0 and said else info
