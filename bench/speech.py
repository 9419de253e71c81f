"""What the captions' measurements share (bench/captions.py, bench/caption_parts.py and the tests): the word
error rate against a known text, and films made of a recording (once, or said again and again). Imports
nothing of bench's path set-up, so the tests can import it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from videoflix.core.containers import ffmpeg_exe

_PUNCTUATION = re.compile(r"[^\w'\s]|(?<!\w)'|'(?!\w)")


def normalise(text: str) -> list[str]:
    """Words as compared: lower case, apostrophes within words kept, other punctuation a space (so "hang-up"
    and "hang up", "touch-tone" and "touch tone" are alike); Whisper's curly apostrophe as the straight one."""
    return _PUNCTUATION.sub(" ", text.replace("\u2019", "'").lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + insertions + deletions) / reference words: the edit distance over normalised words."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, said in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != said)))
        previous = current
    return previous[-1] / max(1, len(ref))


def film_of(sound: Path, target: Path) -> Path:
    """A film of the recording: a still grey picture and the sound (AAC), as an operator would upload it."""
    if not target.exists():
        subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=gray:size=320x240:rate=10", "-i", str(sound), "-shortest", "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", "-b:a", "96k", str(target)], check=True)  # fmt: skip
    return target


def repeated(sound: Path, text: str, times: int, target: Path, pause: float = 1.2) -> tuple[Path, str]:
    """A film of the recording `sound` (saying `text`) said `times` times with a pause after each (a long film
    of real speech, for the captions in parts), and what it says."""
    if not target.exists():
        joined = target.with_suffix(".wav")
        graph = "".join(f"[{i}:a]apad=pad_dur={pause}[a{i}];" for i in range(times))
        graph += "".join(f"[a{i}]" for i in range(times)) + f"concat=n={times}:v=0:a=1[out]"
        inputs = [arg for _ in range(times) for arg in ("-i", str(sound))]
        subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                        "-map", "[out]", str(joined)], check=True)  # fmt: skip
        film_of(joined, target)
    return target, " ".join([text] * times)
