"""One loudness for every title (EBU R128): the source's sound is measured first (`ebur128`, BS.1770
integrated loudness, range, gate threshold and true peak, over the whole film, so a chunked film's parts
cannot pump), then the encode applies one gain to reach TARGET_I with the true peak under TARGET_TP
(`loudnorm` in its linear mode, given the measurement; a film whose peaks would not fit falls back to
loudnorm's dynamic mode). PeerTube #3651: titles at wildly different volumes.

Measuring costs a decode of the sound alone: ebur128 ran at ~430x realtime here (loudnorm's own analysis
~110x), ~0.4 s for a 3 min film, ~17 s for a 2 h one, spent before the first segments.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from videoflix.media import MediaInfo, ObjectURL, input_options

#: the target integrated loudness (LUFS), true peak (dBTP) and loudness range (LU, loose: a film keeps its
#: dynamics; loudnorm stays linear while the measured range is within it)
TARGET_I = -16.0
TARGET_TP = -1.5
TARGET_LRA = 20.0
#: quieter than this is silence (or nearly): left as it is rather than raised by 50 dB
SILENCE = -70.0

_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf))"


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    threshold: float  # the relative gate's threshold, LUFS
    lra: float  # LU
    true_peak: float  # dBTP


def measure_command(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, stream: int | None = None) -> list[str]:
    """FFmpeg reading one audio stream of the source (by default the one the renditions carry), through the
    one input helper, into `ebur128`."""
    chosen = info.default_audio if stream is None else stream
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", *input_options(source, info.container),
            "-map", f"0:a:{chosen}", "-vn", "-sn", "-dn", "-af", "ebur128=peak=true:framelog=quiet",
            "-f", "null", "-"]  # fmt: skip


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
    ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, timeout: float = 3600, stream: int | None = None
) -> Loudness | None:
    """The loudness of the source's audio stream `stream` (by default the renditions' one; blocking: run it
    in a thread); None without sound or when it cannot be read (the encode then reports what is wrong)."""
    if not info.has_audio:
        return None
    result = subprocess.run(  # noqa: S603 - our FFmpeg, the one input helper
        measure_command(ffmpeg, source, info, stream), capture_output=True, timeout=timeout, check=False
    )
    return parse(result.stderr.decode("utf-8", "replace")) if result.returncode == 0 else None


def filters(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo) -> dict[int, str | None]:
    """Per audio stream the film carries (the default one, and the alternate tracks), the filter that
    normalizes it (`normalize_filter`): every track of every title at one loudness. One decode of that
    stream alone each (blocking: run it in a thread)."""
    if not info.has_audio:
        return {}
    carried = [info.default_audio, *(stream.index for stream in info.alternate_audio)]
    return {index: normalize_filter(measure(ffmpeg, source, info, stream=index)) for index in carried}


def normalize_filter(loudness: Loudness | None) -> str | None:
    """The audio filter that brings a measured film to TARGET_I (None: nothing to do, silence, or not
    measured). Where its true peak stays under TARGET_TP after the gain, that gain alone (`volume`: what
    loudnorm's linear mode applies, without its 192 kHz true-peak limiter: the audio job took 2.7x less CPU,
    measured on a 72 s film with two tracks); else loudnorm, which keeps the peaks under it."""
    if loudness is None or not loudness.integrated > SILENCE:  # (-inf: silence)
        return None
    gain = TARGET_I - loudness.integrated
    if loudness.true_peak + gain <= TARGET_TP:
        return f"volume={gain:.2f}dB"
    return (
        f"loudnorm=I={TARGET_I}:TP={TARGET_TP}:LRA={TARGET_LRA}:measured_I={loudness.integrated}"
        f":measured_TP={min(loudness.true_peak, 99.0)}:measured_LRA={loudness.lra}"
        f":measured_thresh={loudness.threshold}:linear=true:print_format=none"
    )
