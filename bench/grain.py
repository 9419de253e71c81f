"""AV1 film-grain synthesis against plain AV1: bytes at equal quality, judged two ways, on the real corpus
(bench/corpus.py) and the generated film grain title (bench/quality.py's), side by side in one run.

    python bench/grain.py [--grain 8 16] [--crf 26 30 34 38] [--only phone dark] [--rung 720p]

SVT-AV1 can denoise a film before coding it and describe the grain it took out as a table the decoder adds
back (`film-grain=N`: the level, `film-grain-denoise=1`): the bits the encoder spent on grain are saved.
VMAF penalises synthesised grain (it is not the source's grain, picture for picture), so each encode is scored
twice: plain VMAF against the source, and VMAF on denoised pairs (both the source and the rendition through
the same strong temporal denoiser, DENOISE): the picture under the grain, which grain synthesis should keep.

Per title, one rung (the highest not above --rung), its scenes sampled as the workers' rate aim samples them
(`aim_sample.windows`, SHARE of the film, made constant-rate losslessly), each variant encoded at every --crf
and scored both ways. Printed: the points, then the bytes of each grain level against plain AV1 at equal
quality (the Bjontegaard rate: log bytes interpolated over the VMAF range both curves cover), plain and
denoised. Target (issue 35): >= 25 % fewer bytes on the grainy titles at equal quality.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import itertools
import math
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench import corpus
from bench.quality import CORPUS, make_source
from stream_workers import aim_sample, av1_ladder, quality, rate_aim
from stream_workers.av1_ladder import LADDER as AV1
from videoflix.core.containers import ffmpeg_exe, input_options
from videoflix.core.media import ladder_for, probe

#: the grain-insensitive view: a strong temporal and spatial denoiser, the same on both sides of a pair
DENOISE = "hqdn3d=10:8:15:12"
#: the share of each title sampled (its scenes, as the rate aim takes them)
SHARE = 0.2


def with_grain(level: int):
    """The AV1 ladder with SVT-AV1's film-grain synthesis at `level` (0: none), as AV1_FILM_GRAIN makes it."""
    return av1_ladder.with_film_grain(AV1, level)


def score(encoded: Path, clip: Path, size: tuple[int, int], denoised: bool, log: Path) -> float:
    """VMAF mean of `encoded` against the sample clip, plain or on denoised pairs."""
    graph = quality.aligned_pair("0:v:0", "1:v:0", size)
    pair = f"[dist]{DENOISE}[d];[ref]{DENOISE}[r];[d][r]" if denoised else "[dist][ref]"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *input_options(encoded, "matroska"),
         *input_options(clip, "matroska"), "-filter_complex", f"{graph};{pair}{quality.vmaf(log, rate_aim.STEP)}",
         "-fps_mode", "passthrough", "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    return quality.score(quality.frame_scores(log)).mean


def bd_rate(base: list[tuple[float, float]], other: list[tuple[float, float]]) -> float | None:
    """`other`'s bytes against `base`'s at equal VMAF (points are (VMAF, bytes)): the mean over the VMAF range
    both cover of the ratio of their log-bytes interpolated linearly; None where the ranges do not overlap."""

    def log_bytes_at(points: list[tuple[float, float]], vmaf: float) -> float:
        points = sorted(points)
        for (v0, b0), (v1, b1) in itertools.pairwise(points):
            if v0 <= vmaf <= v1:
                share = (vmaf - v0) / (v1 - v0) if v1 > v0 else 0.0
                return math.log(b0) + share * (math.log(b1) - math.log(b0))
        raise ValueError(vmaf)

    low = max(min(v for v, _ in base), min(v for v, _ in other))
    high = min(max(v for v, _ in base), max(v for v, _ in other))
    if high <= low:
        return None
    grid = [low + (high - low) * i / 20 for i in range(21)]
    return math.exp(statistics.fmean(log_bytes_at(other, v) - log_bytes_at(base, v) for v in grid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grain", type=int, nargs="+", default=[8, 16], help="SVT-AV1 film-grain levels")
    parser.add_argument("--crf", type=float, nargs="+", default=[26, 30, 34, 38], help="AV1 CRFs of each curve")
    parser.add_argument("--rung", default="720p", help="the highest rung scored")
    parser.add_argument("--only", nargs="+", help="titles whose name contains one of these")
    parser.add_argument("--seconds", type=int, default=10, help="the generated film grain title's length")
    args = parser.parse_args()
    top = int(args.rung.rstrip("p"))
    ratios: dict[int, list[tuple[float | None, float | None]]] = {level: [] for level in args.grain}
    print(f"AV1 (SVT-AV1 preset {AV1.preset}) with film-grain synthesis against without; VMAF plain | on pairs "
          f"denoised by {DENOISE}\n{'title':<14}{'rung':<6}{'grain':>6}{'CRF':>5}{'kB':>9}{'VMAF':>7}"
          f"{'denoised':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="videoflix-grain-") as scratch:
        work = Path(scratch)
        titles = {**corpus.available(), "film grain (generated)": None}
        for name, path in titles.items():
            if args.only and not any(part in name for part in args.only):
                continue
            source = path or make_source(work, "grain", CORPUS["film grain"], args.seconds)
            info = probe(source)
            rung = max((r for r in ladder_for(info.short_side) if r.short_side <= top), key=lambda r: r.short_side)
            size = quality.size_of(info, rung)
            clip = work / "clip.mkv"
            spans = aim_sample.windows(0.0, info.duration or args.seconds, SHARE)
            subprocess.run(rate_aim.sample_command(ffmpeg_exe(), source, info, spans, clip), check=True)
            curves: dict[int, list[tuple[float, float, float]]] = {}
            for level in (0, *args.grain):
                ladder = with_grain(level)
                for crf in args.crf:
                    out = work / "probe.mkv"
                    rate = ladder.rate_options(0, rung, crf, 10.0)  # uncapped: the CRF alone decides
                    subprocess.run(rate_aim.probe_command(ffmpeg_exe(), clip, size, ladder, rate, out), check=True)
                    plain, denoised = (score(out, clip, size, d, work / "vmaf.json") for d in (False, True))
                    kbytes = out.stat().st_size / 1000
                    curves.setdefault(level, []).append((plain, denoised, kbytes))
                    print(f"{name[:13]:<14}{rung.name:<6}{level:>6}{crf:>5g}{kbytes:>9.0f}{plain:>7.2f}"
                          f"{denoised:>9.2f}", flush=True)  # fmt: skip
            for level in args.grain:
                pair = tuple(
                    bd_rate([(p[view], p[2]) for p in curves[0]], [(p[view], p[2]) for p in curves[level]])
                    for view in (0, 1)
                )
                ratios[level].append(pair)
                print(f"{name[:13]:<14}grain {level}: bytes at equal VMAF {_ratio(pair[0])} plain, "
                      f"{_ratio(pair[1])} denoised")  # fmt: skip
            if path is None:
                source.unlink()
    for level, pairs in ratios.items():
        for view, label in ((0, "plain VMAF"), (1, "denoised VMAF")):
            known = [p[view] for p in pairs if p[view] is not None]
            mean = math.exp(statistics.fmean(math.log(r) for r in known)) if known else None
            best = min(known) if known else None
            print(f"grain {level:<3} {label:<14} geometric mean {_ratio(mean)} over {len(known)} titles, best "
                  f"{_ratio(best)}; target <= 0.75x on grainy titles")  # fmt: skip
    return 0


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


if __name__ == "__main__":
    raise SystemExit(main())
