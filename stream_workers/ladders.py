"""A ladder as a value: one codec's renditions of a film's rungs, its rate control and its container.

The H.264 ladder (TS, every film, listed always: `hls`) is the film's first; a further ladder (AV1 today:
`av1_ladder.LADDER`) is made once the film is ready, in one run for a film made in one pass, in the film's
parts over every worker for a long one (`ladder_parts`), and listed in the master only where it measures as
good as the H.264 renditions in fewer bytes (`av1_ladder.choose_listed`). What differs between further
ladders is data: the encoder and its options, the constant quality and its caps, how many workers' CPU it
yields to; the command over a time range, the joins of the parts, the playlists and the verdict are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from videoflix.core.media import Rung

from .hls import SEGMENT_SECONDS


@dataclass(frozen=True)
class Ladder:
    """A further ladder: `name` keys its plan rows, its jobs and its verdict in a film's renditions (and is
    its folder in the output: `<name>/<rung>/`); `encoder`, the codec and its options for every rendition;
    `keyframes`, what the encoder needs besides `-force_key_frames` to put keyframes exactly on the segment
    grid (and nowhere else that would cut a segment); `crf` and its caps (`cap_of`), the rate control;
    `niceness`, how much it yields the CPU (the film it improves is ready)."""

    name: str
    encoder: tuple[str, ...]
    crf: float
    cap: float
    caps: Mapping[str, float] = field(default_factory=dict)
    keyframes: tuple[str, ...] = ()
    niceness: int = 10

    @property
    def folder(self) -> str:
        return self.name

    def cap_of(self, rung: Rung) -> float:
        """A rung's cap, a share of its fixed bitrate."""
        return self.caps.get(rung.name, self.cap)

    def rate_options(self, index: int, rung: Rung, crf: float | None = None, cap: float | None = None) -> list[str]:
        """Rate control of the `index`-th video stream: constant quality capped per rung."""
        kbps = int(rung.video_kbps * (cap or self.cap_of(rung)))
        quality = self.crf if crf is None else crf
        return [f"-crf:v:{index}", f"{quality:g}", f"-maxrate:v:{index}", f"{kbps}k", f"-bufsize:v:{index}",
                f"{int(kbps * 1.5)}k"]  # fmt: skip

    def video_options(self) -> list[str]:
        """The encoder, with keyframes forced every segment length (counted from a part's start, so the
        parts of a film keep one grid)."""
        grid = ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
        return [*self.encoder, "-pix_fmt", "yuv420p", *self.keyframes, *grid]

    def folders(self, rungs: list[Rung]) -> list[str]:
        """The ladder's playlist folders in an output, one per rung."""
        return [f"{self.folder}/{rung.name}" for rung in rungs]
