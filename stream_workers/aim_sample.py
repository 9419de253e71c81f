"""What the quality-aimed rate control (`rate_aim`) samples of a stretch of a film, and how much of the film
each sampled frame stands for.

Two kinds of window make the sample clip:

- **Spread windows** (`windows`: WINDOW seconds each, a share of the stretch, each in the middle of its equal
  slice; inside the shots where the ladder rates scenes, `scenes.placed`): they estimate the film's mean
  quality.
- **Windows at the cuts** (`scenes.before_cuts`: the second before each cut between the scenes rated, and the
  stretch's first): a film's worst moments for every encoder are there (the real corpus' cyclists: the worst
  5 % of frames in the last 0.3 s before a cut and in the first half second, for x264 veryfast, slow and
  SVT-AV1 alike), where spread windows seldom fall, so the 5th-percentile rule was missed on a quality the
  samples never saw.

Each scene is rated on all of its windows (`Sample.means`), the one before its cut too: its zone covers
every frame of it, the worst second included. (Rated on its spread windows alone, the cyclists' scenes took
CRF 25 and 26 under a rung aimed at 21 for its 5th percentile, and the whole film's 5th percentile fell to
94.4 against the fixed ladder's 99.8: bench/quality.py.)

A sampled second does not stand for one second of the film: the windows at the cuts are about every second
next to a cut there is, the spread ones a share of the rest. Each frame is weighed by the seconds of the
stretch its window stands for (`Sample.weights`), so the mean and the 5th percentile the aim reads
(`Sample.score`) are estimates of the whole film's, not a sample's crowded with cuts (which would lower the
mean and spend bytes on every scene).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import quality, scenes

#: seconds of each sampled window; the fewest and the most spread windows of one stretch (a film, a part). Many
#: short windows judge a film better than a few long ones at the same cost: one scene misjudged a film
#: (bench/quality.py: Big Buck Bunny's 30 s aimed from one 2 s window took CRF 50 at 480p and scored 1.1 below
#: H.264 over the whole film), and three 2 s windows still put x264 slow 1.1 VMAF better against the fast ladder
#: than the whole film did at 480p (the fast ladder -1.9 from its whole-film score, slow -0.8), so the best ladder
#: went unlisted there; six 1 s windows, the same 6 s, were within 0.3 of the whole for every encoder on that
#: film and the real corpus' dark and city titles
WINDOW = 1.0
FEWEST_WINDOWS = 6
MOST_WINDOWS = 24


def windows(start: float, length: float, share: float) -> list[tuple[float, float]]:
    """(start, seconds) of the spread windows of a stretch of the film: `share` of it in WINDOW-second
    windows (at least FEWEST_WINDOWS, at most MOST_WINDOWS), each in the middle of its equal slice of the
    stretch; a stretch no longer than the fewest windows, whole."""
    if length <= WINDOW * FEWEST_WINDOWS:
        return [(start, length)]
    count = max(FEWEST_WINDOWS, min(MOST_WINDOWS, round(length * share / WINDOW)))
    stride = length / count
    return [(round(start + stride * i + (stride - WINDOW) / 2, 3), WINDOW) for i in range(count)]


@dataclass(frozen=True)
class Sample:
    """The windows (start, seconds: film time) of a stretch that make the sample clip, in film order; which
    of them lie at a cut; and the seconds of the stretch each of a window's seconds stands for."""

    spans: tuple[tuple[float, float], ...]
    at_cut: tuple[bool, ...]
    weights: tuple[float, ...]

    @classmethod
    def of(
        cls, spread: Sequence[tuple[float, float]], parts: Sequence[tuple[float, float]], stretch: tuple[float, float]
    ) -> Sample:
        """`spread` and a window at each cut between `parts` (the scenes, seconds from the stretch's start) and
        at the stretch's start (those the spread ones cover already left out), weighed: a window at a cut
        stands for itself, a spread one for its share of the rest of the stretch (never less than itself)."""
        edges = scenes.before_cuts(parts, stretch[0], WINDOW, spread)
        spread_seconds = sum(length for _, length in spread)
        rest = max(0.0, stretch[1] - sum(length for _, length in edges))
        weight = max(1.0, rest / spread_seconds) if spread_seconds else 1.0
        ordered = sorted([(s, False) for s in spread] + [(e, True) for e in edges])
        return cls(
            tuple(span for span, _ in ordered),
            tuple(cut for _, cut in ordered),
            tuple(1.0 if cut else weight for _, cut in ordered),
        )

    @property
    def seconds(self) -> float:
        return sum(length for _, length in self.spans)

    def score(self, frames: Sequence[float]) -> quality.Score:
        """The mean and 5th percentile of the clip's per-frame VMAF with each frame weighed as its window: the
        whole stretch's, as the sample estimates it (`quality.score` where every weight is one)."""
        owner = scenes.window_index(len(frames), [length for _, length in self.spans])
        weighed = sorted((value, self.weights[i]) for value, i in zip(frames, owner, strict=True))
        total = sum(w for _, w in weighed)
        if not weighed or total <= 0:
            return quality.score(list(frames))
        mean = sum(value * w for value, w in weighed) / total
        running, p5 = 0.0, weighed[-1][0]
        for value, w in weighed:
            running += w
            if running >= 0.05 * total - 1e-9:
                p5 = value
                break
        return quality.Score(mean, p5, len(weighed))

    def means(self, frames: Sequence[float]) -> list[float]:
        """Each window's mean VMAF, in order (unweighed: a scene is rated on its own windows)."""
        return scenes.window_means(frames, [length for _, length in self.spans])
