"""One loudness for every title (EBU R128): the source's sound is measured first (`ebur128`, BS.1770
integrated loudness, range, gate threshold and true peak, over the whole film, so a long film's parts
cannot pump), then the encode applies one gain to reach TARGET_I with the true peak under TARGET_TP. A
film whose peaks would pass the ceiling after that gain (a quiet film broken by loud shots) gets the gain
and a limiter, the gain found by measuring the limited sound again (`limited_filter`). PeerTube #3651:
titles at wildly different volumes.

Measuring costs a decode of the sound alone: ebur128 ran at ~430x realtime here (loudnorm's own analysis
~110x), ~0.4 s for a 3 min film, ~17 s for a 2 h one, spent before the first segments.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.containers import ObjectURL, input_options
from videoflix.core.media import MediaInfo

#: the target integrated loudness (LUFS) and true peak (dBTP)
TARGET_I = -16.0
TARGET_TP = -1.5
#: quieter than this is silence (or nearly): left as it is rather than raised by 50 dB
SILENCE = -70.0

_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf))"


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    threshold: float  # the relative gate's threshold, LUFS
    lra: float  # LU
    true_peak: float  # dBTP


def measure_command(
    ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, stream: int | None = None, applied: str | None = None
) -> list[str]:
    """FFmpeg reading one audio stream of the source (by default the one the renditions carry), through the
    one input helper, into `ebur128` (after the filter `applied`: the sound as a candidate filter makes it)."""
    chosen = info.default_audio if stream is None else stream
    meter = f"{applied + ',' if applied else ''}ebur128=peak=true:framelog=quiet"
    reading = input_options(source, info.container, length=info.decode_seconds)
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", *reading,
            "-map", f"0:a:{chosen}", "-vn", "-sn", "-dn", "-af", meter, "-f", "null", "-"]  # fmt: skip


def parse(stderr: str) -> Loudness | None:
    """ebur128's summary, or None when there is none (no sound was decoded)."""
    summary = stderr[stderr.rfind("Summary:") :] if "Summary:" in stderr else ""
    found = {
        "integrated": re.search(rf"I:\s+{_NUMBER} LUFS", summary),
        "threshold": re.search(rf"Integrated loudness:\s+I:.*?\n\s+Threshold:\s+{_NUMBER} LUFS", summary),
        "lra": re.search(rf"LRA:\s+{_NUMBER} LU\b", summary),
        "true_peak": re.search(rf"True peak:\s+Peak:\s+{_NUMBER} dBFS", summary),
    }
    if not all(found.values()):
        return None
    return Loudness(**{name: float(match.group(1)) for name, match in found.items()})


def measure(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    timeout: float = 3600,
    stream: int | None = None,
    applied: str | None = None,
) -> Loudness | None:
    """The loudness of the source's audio stream `stream` (by default the renditions' one), as the filter
    `applied` leaves it (blocking: run it in a thread); None without sound or when it cannot be read (the
    encode then reports what is wrong)."""
    if not info.has_audio:
        return None
    result = subprocess.run(  # noqa: S603 - our FFmpeg, the one input helper
        measure_command(ffmpeg, source, info, stream, applied), capture_output=True, timeout=timeout, check=False
    )
    return parse(result.stderr.decode("utf-8", "replace")) if result.returncode == 0 else None


def filters(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo) -> dict[int, str | None]:
    """Per audio stream the film carries (the default one, and the alternate tracks), the filter that
    normalizes it (`normalize_filter`, or `limited_filter` where the peaks need a limiter): every track of
    every title at one loudness. One decode of that stream alone each, a few more for a limited one
    (blocking: run it in a thread)."""
    if not info.has_audio:
        return {}
    carried = [info.default_audio, *(stream.index for stream in info.alternate_audio)]
    levels: dict[int, str | None] = {}
    for index in carried:
        measured = measure(ffmpeg, source, info, stream=index)
        levels[index] = normalize_filter(measured)
        if levels[index] == NEEDS_LIMITER:
            again = lambda applied, index=index: measure(ffmpeg, source, info, stream=index, applied=applied)  # noqa: E731
            levels[index] = limited_filter(measured, again)
    return levels


#: what `normalize_filter` answers for a film whose peaks a gain alone would push past the ceiling
NEEDS_LIMITER = "limiter"


def normalize_filter(loudness: Loudness | None) -> str | None:
    """The audio filter that brings a measured film to TARGET_I (None: nothing to do, silence, or not
    measured). Where its true peak stays under TARGET_TP after the gain, that gain alone (`volume`: the
    audio job took 2.7x less CPU than loudnorm's linear mode, which applies the same gain, measured on a
    72 s film with two tracks); else NEEDS_LIMITER (`limited_filter`)."""
    if loudness is None or not loudness.integrated > SILENCE:  # (-inf: silence)
        return None
    gain = TARGET_I - loudness.integrated
    if loudness.true_peak + gain <= TARGET_TP:
        return f"volume={gain:.2f}dB"
    return NEEDS_LIMITER


#: the limiter's ceiling (dBFS, sample peak): alimiter looks at samples, and the true peak between them
#: passed its ceiling by 1.1 dB on a click track, so it sits that far and a margin under TARGET_TP
LIMIT = TARGET_TP - 1.5
#: measurements of the limited sound at most, and how close to TARGET_I is close enough (LU)
LIMITER_ROUNDS = 4
LIMITER_TOLERANCE = 0.5
#: the most gain a title gets (dB): beyond it, a near-silent film's noise would be what is heard
MAX_GAIN = 50.0


def limiter(gain: float) -> str:
    """The gain, then a limiter at LIMIT (5 ms look-ahead, its delay compensated: the sound stays in sync)."""
    return f"volume={gain:.2f}dB,alimiter=limit={10 ** (LIMIT / 20):.4f}:attack=5:release=50:level=disabled:latency=1"


def limited_filter(loudness: Loudness, measure_applied: Callable[[str], Loudness | None]) -> str:
    """Gain and limiter for a film whose loud peaks dominate (a quiet scene broken by shots or clicks):
    limiting takes loudness off, so the gain is found by measuring the limited sound (`measure_applied`:
    the loudness as a filter leaves it) and raising the gain by what is missing, a few rounds. loudnorm's
    own answer to such a film reached only -26.9 LUFS of the -16 asked (measured)."""
    gain = TARGET_I - loudness.integrated
    for _ in range(LIMITER_ROUNDS):
        after = measure_applied(limiter(gain))
        if after is None or abs(after.integrated - TARGET_I) <= LIMITER_TOLERANCE:
            break
        gain = min(gain + TARGET_I - after.integrated, MAX_GAIN)
    return limiter(gain)
