"""Where a long film's speech is cut into parts that any worker transcribes (`caption_jobs`): at silences,
so that no word is cut in two and the parts' words join without one doubled or lost.

The film's sound is read once by our FFmpeg's `silencedetect` (the sound alone is decoded: a two-hour film
takes seconds), and each cut is placed in the middle of a silence near where an even cut would fall,
preferring a longer silence to a nearer one. Where a stretch holds no silence at all (music, a crowd), the
even cut is taken and said so: Whisper's voice filter then hears a word cut there as two halves at worst.
"""

from __future__ import annotations

import re
from pathlib import Path

from videoflix.core.containers import ObjectURL, input_options
from videoflix.core.media import MediaInfo

from . import ffmpeg_run
from .film_parts import Part

#: quieter than this, for at least this long, is a silence (a pause between phrases in speech is ~0.3 s or more)
SILENCE_NOISE_DB = -35
SILENCE_SECONDS = 0.3
#: a cut may move this share of a part away from the even cut to reach a silence
REACH = 0.25
#: a film shorter than this many parts is one part
ONE_PART_BELOW = 1.5

_START = re.compile(r"silence_start: (-?[\d.]+)")
_END = re.compile(r"silence_end: (-?[\d.]+)")


def silences_command(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo) -> list[str]:
    """FFmpeg reading the film's default sound for its silences (logged by silencedetect), writing nothing."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            *input_options(source, info.container),
            "-map", f"0:a:{info.default_audio}", "-vn", "-sn", "-dn", "-ac", "1", "-ar", "16000",
            "-af", f"silencedetect=noise={SILENCE_NOISE_DB}dB:d={SILENCE_SECONDS}", "-f", "null", "-"]  # fmt: skip


def silences(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, timeout: float) -> list[tuple[float, float]]:
    """(Blocking.) The silences of the film's sound, (start, end) in seconds, in order."""
    return parse_silences(ffmpeg_run.run_to_end(silences_command(ffmpeg, source, info), timeout), info.duration)


def parse_silences(logged: str, duration: float | None) -> list[tuple[float, float]]:
    """silencedetect's findings in FFmpeg's log; a silence still open at the end ends with the film."""
    found: list[tuple[float, float]] = []
    start: float | None = None
    for line in logged.splitlines():
        if (began := _START.search(line)) is not None:
            start = max(0.0, float(began.group(1)))
        elif (ended := _END.search(line)) is not None and start is not None:
            found.append((start, float(ended.group(1))))
            start = None
    if start is not None and duration:
        found.append((start, duration))
    return found


def cut(duration: float, silences: list[tuple[float, float]], part_seconds: float) -> list[Part]:
    """The film's speech in parts of about `part_seconds` (as a film's encode is cut: `film_parts.Part`), each
    cut in a silence where one is near."""
    if duration < ONE_PART_BELOW * part_seconds:
        return [Part(0, 0.0, duration)]
    count = round(duration / part_seconds)
    even = duration / count
    cuts: list[float] = []
    for k in range(1, count):
        aim, previous = k * even, cuts[-1] if cuts else 0.0
        near = [
            (start, end) for start, end in silences
            if abs((start + end) / 2 - aim) <= REACH * even and (start + end) / 2 > previous + even / 2
        ]  # fmt: skip
        # a longer silence (up to 2 s: a pause, not an intermission) is worth coming 10 s further for
        best = min(near, key=lambda s: abs((s[0] + s[1]) / 2 - aim) - 10 * min(s[1] - s[0], 2.0), default=None)
        cuts.append(round((best[0] + best[1]) / 2, 3) if best else round(aim, 3))
    edges = [0.0, *cuts, duration]
    return [Part(i, edges[i], round(edges[i + 1] - edges[i], 3)) for i in range(count)]


def in_silence(at: float, silences: list[tuple[float, float]]) -> bool:
    """Whether a cut at `at` falls in a silence (the log says so when one could not)."""
    return any(start <= at <= end for start, end in silences)
