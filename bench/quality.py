"""Bytes against quality: the fixed ladder, the per-title one (capped CRF) and the AV1 ladder beside it, on
real footage nobody here made (bench/corpus.py: rendered animation, a camera's live action; fetched from
the package registries, not committed) and on a corpus of generated sources of very different complexity,
two tables, each title encoded by the workers' single pass (fixed;
per-title; per-title with the AV1 ladder, as AV1_LADDER=on makes it; with the AV1 ladder aimed at the per-title
quality, as RATE_AIM makes it, its probes' CPU counted), side by side in one run, and every
rendition scored with VMAF against its source (frames paired from each one's start, `stream_workers.quality`;
every `--step`-th frame).

    python bench/quality.py [--corpus real|generated|both] [--seconds 30] [--crf 18] [--cap 0.9]
                            [--av1-crf 34] [--av1-cap 0.6] [--av1-preset 6]
                            [--aim 0.05] [--step 3] [--preset veryfast] [--only noise ...] [--film-seconds 120]

Prints per title and rendition the bytes, average bitrate and VMAF (mean and 5th percentile) of each
ladder, then the totals: per-title bytes saved (target >= 25 %), the largest VMAF loss of any rendition
(target <= 1 point) and the encode CPU ratio (target <= 1.10x); AV1 against per-title H.264 (target >= 30 %
smaller at equal VMAF) and against the fixed ladder (target >= 45 %), and what the AV1 ladder adds to the
encode's CPU. Also the cost of the workers' own sampled VMAF measurement next to the encode's, on the
corpus' short titles (one window each at least), H.264 alone and with the AV1 ladder (its pass and its
twins' scoring, as the workers make a film in one pass by default), and on a film of --film-seconds
(target <= 5 %).
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import corpus
from bench.runs import wall_and_cpu
from stream_workers import av1_ladder, hls, ladder_verdict, ladders, quality, rate_aim, seeking
from stream_workers.av1_ladder import LADDER as AV1
from stream_workers.avc_ladder import LADDER as AVC
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264, Ladder
from tests.support.clips import ffmpeg
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, Rung, ladder_for, probe


def moving(backdrop: str, shapes: list[tuple[str, int, int, str, str]], rate: int, outline: int = 0) -> str:
    """A lavfi graph: `backdrop` with flat shapes (colour, width, height, x and y as expressions of the time
    `t`) laid over it where those put them in each frame (`overlay` evaluates them per frame; drawbox cannot
    move a box: its `t` is the box's thickness), each with a black `outline` of that many pixels."""
    parts = [f"{backdrop}[s0]"]
    for i, (color, width, height, x, y) in enumerate(shapes):
        border = f",drawbox=w={width}:h={height}:color=black:t={outline}" if outline else ""
        parts.append(f"color=c={color}:size={width}x{height}:rate={rate}{border}[p{i}]")
        label = f"[s{i + 1}]" if i < len(shapes) - 1 else ""
        parts.append(f"[s{i}][p{i}]overlay=x='{x}':y='{y}'{label}")
    return ";".join(parts)


#: the corpus: lavfi sources (1080p30) from easy to hard, the same on every run
CORPUS = {
    "slides": "testsrc=size=1920x1080:rate=1/5,fps=30",  # a still picture changing every 5 s
    # flat colours and outlined shapes moving over a still backdrop, drawn on twos (12 pictures a second), as
    # cartoons are (lavfi's `life` this title had is a cellular automaton flipping sharp cells every frame: as
    # hard to code as noise, and its 480p/720p VMAF of 52-81 at any bitrate was aliasing, not animation)
    "flat animation": moving(
        "color=c=#7fb2e5:size=1920x1080:rate=12,drawbox=y=780:w=1920:h=300:color=#4f9a3c:t=fill,"
        "drawbox=x=1500:y=120:w=160:h=160:color=#f5d94a:t=fill,drawbox=x=1500:y=120:w=160:h=160:color=black:t=6",
        [
            ("#c8402e", 300, 180, "mod(t*220,2300)-300", "560+30*abs(sin(t*4))"),  # a car
            ("#ffffff", 220, 70, "1700-mod(t*90,2000)", "250+60*sin(t*1.5)"),  # a cloud
            ("#2d2d6b", 80, 140, "700+300*sin(t*0.8)", "640-90*abs(sin(t*2.5))"),  # a jumping figure
            ("#8a5a2b", 120, 60, "300+120*t", "700"),  # a dog
        ],
        rate=12,
        outline=6,
    )
    + ",fps=30",
    # a figure swaying slowly before a plain backdrop with a fixed grain (lavfi's `gradients` backdrop this
    # title had is not deterministic, even with a seed: its per-title VMAF loss varied from 0.4 to 3 points by
    # run; the drawbox figure that replaced it did not move: drawbox's `t` is the box's thickness, not time)
    "talking head": moving(
        "color=c=#4a6078:size=1920x1080:rate=30,vignette=PI/5,noise=alls=3:allf=u",
        [("#c08060", 200, 260, "860+40*sin(t*1.3)", "420+20*sin(t*0.7)")],
        rate=30,
    ),
    "high motion": "testsrc2=size=2880x1620:rate=30,crop=1920:1080:x='(1+sin(t*2))*480':y='(1+cos(t*1.7))*270'",
    "film grain": "testsrc2=size=1920x1080:rate=30,noise=alls=18:allf=t+u",
    # a dim moving picture with a fixed grain (the gradients with fresh noise in every frame this title had
    # were pure entropy: x264 needed ~98 Mbit/s at 720p for VMAF 89, and VMAF fell to ~12 at the ladder's caps)
    "dark scene": "testsrc2=size=1920x1080:rate=30,eq=brightness=-0.3:contrast=0.35,noise=alls=3:allf=u",
}
TARGET_SAVED = 0.25
TARGET_VMAF_LOSS = 1.0
TARGET_CPU = 1.10
TARGET_MEASURE_SHARE = 0.05
TARGET_AV1_SAVED = 0.30  # against the per-title H.264 ladder
TARGET_AV1_TOTAL = 0.45  # against the fixed H.264 ladder


def make_source(folder: Path, name: str, graph: str, seconds: int) -> Path:
    path = folder / f"{name.replace(' ', '-')}.mp4"
    ffmpeg("-f", "lavfi", "-i", graph, "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "10",
           "-pix_fmt", "yuv420p", str(path), timeout=3600)  # fmt: skip
    return path


def vmaf(rendition: Path, source: Path, info: MediaInfo, size: tuple[int, int], step: int) -> quality.Score:
    """The whole rendition (its playlist, FFmpeg's HLS client) against the source as the renditions were made
    from it (`hls.picture_filters`: a real source may be interlaced or of a variable rate), aligned."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "vmaf.json"
        graph = quality.aligned_pair("0:v:0", "1:v:0", size, hls.picture_filters(info))
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(rendition), "-i", str(source),
             "-filter_complex", f"{graph};[dist][ref]{quality.vmaf(log, step)}",
             "-fps_mode", "passthrough", "-f", "null", "-"],
            check=True,
        )  # fmt: skip
        return quality.score(quality.frame_scores(log))


def folder_bytes(folder: Path) -> int:
    """What a player downloads of a rendition: its segments (and an fMP4 one's init segment)."""
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".ts", ".m4s", ".mp4"))


#: the ladders each title is encoded with (aimed: the AV1 one at RATE_AIM; best: the best H.264 ladder, `avc`, as
#: AVC_LADDER=on makes it: x264 at --best-preset, aimed at the per-title ladder's quality scene by scene, in fMP4;
#: best-film: the same aimed once for the whole title, what the scenes gain over)
LADDERS = ("fixed", "per-title", "av1", "aimed", "best-film", "best")


@dataclass
class Totals:
    """One table's sums: bytes and encode CPU seconds per ladder (AV1: its own pass); what an AV1-capable
    browser downloads (each rung's AV1 rendition where the master lists it, else H.264) and the listed AV1
    renditions' bytes against their H.264 twins'; the largest VMAF losses; the sampled measurement's CPU."""

    bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LADDERS, 0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LADDERS, 0.0))
    browser: int = 0
    #: the AV1 ladder aimed (RATE_AIM): what an AV1 browser downloads with it, the titles it is listed for of
    #: how many, its largest losses to the fixed ladder where listed (mean, 5th percentile), and the probes'
    #: CPU (in cpu["aimed"] too)
    aimed_browser: int = 0
    aimed_listed: int = 0
    titles: int = 0
    worst_aimed_loss: float = 0.0
    worst_aimed_p5_loss: float = 0.0
    aim_cpu: float = 0.0
    #: the best H.264 ladder (--best-preset): the titles it is listed for (in the fast ladder's place), what a
    #: browser without AV1 downloads (it where listed, else the per-title ladder) and that H.264's largest
    #: losses to the fixed ladder (mean, 5th percentile), its probes' CPU, and the film's seconds (CPU per
    #: minute of film)
    best_listed: int = 0
    h264_browser: int = 0
    worst_best_loss: float = 0.0
    worst_best_p5_loss: float = 0.0
    best_aim_cpu: float = 0.0
    #: the scene-by-scene best ladder's mean VMAF less the once-per-title one's, averaged over the renditions
    best_scene_vmaf: float = 0.0
    renditions: int = 0
    seconds: float = 0.0

    listed_av1: int = 0
    listed_h264: int = 0
    worst_loss: float = 0.0
    worst_av1_loss: float = 0.0
    measure_cpu: float = 0.0
    encode_cpu: float = 0.0
    av1_measure_cpu: float = 0.0
    av1_encode_cpu: float = 0.0


HEADER = (f"{'title':<16}{'rung':<7}{'fixed MB':>9}{'kbit/s':>8}{'VMAF':>7}{'p5':>6}   "
          f"{'per-title MB':>12}{'kbit/s':>8}{'VMAF':>7}{'p5':>6}{'bytes':>8}   "
          f"{'AV1 MB':>7}{'kbit/s':>8}{'VMAF':>7}{'p5':>6}{'/p-t':>7}{'/fixed':>7}  listed   "
          f"{'aimed MB':>8}{'kbit/s':>8}{'VMAF':>7}{'p5':>6}{'/fixed':>7}  CRF  listed   "
          f"{'film MB':>8}{'VMAF':>7}{'p5':>6}  "
          f"{'best MB':>8}{'VMAF':>7}{'p5':>6}{'/fixed':>7}  CRFs  listed")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30, help="the generated titles' length")
    real_or_not = "real footage (bench/corpus.py, fetched if missing), the generated titles, or both"
    parser.add_argument("--corpus", choices=("real", "generated", "both"), default="both", help=real_or_not)
    parser.add_argument("--crf", type=float, default=ladders.PER_TITLE_CRF)
    parser.add_argument("--cap", type=float, default=ladders.PER_TITLE_CAP, help="share of the fixed rung's bitrate")
    parser.add_argument("--av1-crf", type=int, default=av1_ladder.CRF)
    parser.add_argument(
        "--av1-cap", type=float, help="share of the fixed rung's bitrate (default: the AV1 ladder's cap_of)"
    )
    parser.add_argument("--av1-preset", type=int, default=av1_ladder.PRESET, help="SVT-AV1's speed (0 slowest .. 13)")
    parser.add_argument("--aim", type=float, default=rate_aim.SHARE,
                        help="also the AV1 ladder aimed at the per-title H.264 quality, probing this share (RATE_AIM; "
                             "0: not)")  # fmt: skip
    parser.add_argument("--best-preset", default="slow",
                        help="also the best H.264 ladder (AVC_LADDER) at this x264 preset (AVC_PRESET), aimed at the "
                             "per-title quality ('': not)")  # fmt: skip
    parser.add_argument("--step", type=int, default=3, help="score every n-th frame")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--only", nargs="+", help="titles whose name contains one of these")
    parser.add_argument(
        "--film-seconds",
        type=int,
        default=120,
        help="the length of the film whose sampled VMAF's cost is measured (0: none)",
    )
    args = parser.parse_args()

    caps = (
        f"{args.av1_cap:g}"
        if args.av1_cap
        else f"{av1_ladder.CAP:g}, " + ", ".join(f"{name} {cap:g}" for name, cap in av1_ladder.CAPS.items())
    )
    print(
        f"per-title: CRF {args.crf:g} capped at {args.cap:g}x (x264 {args.preset}); AV1: capped CRF {args.av1_crf} "
        f"(SVT-AV1 preset {args.av1_preset}, cap {caps}x); VMAF every {args.step}. frame"
    )
    work = Path(tempfile.mkdtemp(prefix="videoflix-quality-"))
    tables = []
    try:
        if args.corpus in ("real", "both"):
            real = {name: path for name, path in corpus.available().items() if chosen(name, args.only)}
            tables.append(("real footage (bench/corpus.py)", run_table(work, real, args, generated=False)))
        if args.corpus in ("generated", "both"):
            made = {name: graph for name, graph in CORPUS.items() if chosen(name, args.only)}
            tables.append((f"generated titles ({args.seconds} s each)", run_table(work, made, args, generated=True)))
        film_share = film_measure_share(work, args) if args.film_seconds else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for label, totals in tables:
        print_totals(label, totals, args)
    if film_share is not None:
        film_measure, film_encode = film_share
        ratio = film_measure / film_encode
        print(f"\n{'sampled VMAF on a film':<28}{ratio:>9.1%}  ({film_measure:.1f} s of {film_encode:.0f} s, a "
              f"{args.film_seconds} s talking head with its AV1 ladder, as the workers make and score it)  "
              f"target <= {TARGET_MEASURE_SHARE:.0%}: {_verdict(ratio <= TARGET_MEASURE_SHARE)}")  # fmt: skip
    return 0


def chosen(name: str, only: list[str] | None) -> bool:
    """Whether a title is in this run (--only: its name holds one of them)."""
    return not only or any(part in name for part in only)


def run_table(work: Path, titles: dict[str, Path | str], args: argparse.Namespace, generated: bool) -> Totals:
    """Encode and score every title (a real file, or a generated one's lavfi graph), printing its rows."""
    totals = Totals()
    print(f"\n{'generated titles' if generated else 'real footage'}\n{HEADER}")
    for name, given in titles.items():
        source = make_source(work, name, str(given), args.seconds) if generated else Path(given)
        info = seeking.check(ffmpeg_exe(), source, probe(source))  # (as the workers examine an upload)
        rungs = ladder_for(info.short_side)
        seconds = info.duration or args.seconds
        results, aims, best, best_film = {}, {}, {}, {}
        runs = [("fixed", None), ("per-title", args.crf), ("av1", None)]
        runs += [("aimed", None)] * bool(args.aim) + [("best-film", None), ("best", None)] * bool(args.best_preset)
        totals.seconds += seconds
        for ladder, crf in runs:
            further = ladder in ("av1", "aimed", "best-film", "best")
            out = work / ("per-title" if further else ladder)  # (AV1 beside H.264, as the workers make it)
            out.mkdir(exist_ok=True)
            if ladder == "aimed":  # the probes first, as the workers run them before the AV1 pass
                started, before = time.process_time(), _children()
                reference = dataclasses.replace(H264.at(args.preset), crf=args.crf, cap=args.cap)
                aims = rate_aim.aim(ffmpeg_exe(), source, info, AV1.at(str(args.av1_preset)), reference, rungs,
                                    (0.0, seconds), args.aim, workdir=work, also=H264.at(args.preset))  # fmt: skip
                aim_cpu = _children() - before + time.process_time() - started
                totals.aim_cpu += aim_cpu
                totals.cpu["aimed"] += aim_cpu
            if ladder in ("best-film", "best"):  # the best H.264 ladder aimed at the per-title quality, as the
                started, before = time.process_time(), _children()  # workers aim it (or once for the title)
                reference = dataclasses.replace(H264.at(args.preset), crf=args.crf, cap=args.cap)
                made = rate_aim.aim(ffmpeg_exe(), source, info, best_ladder(args, ladder == "best"), reference,
                                    rungs, (0.0, seconds), args.aim or rate_aim.SHARE, workdir=work,
                                    also=H264.at(args.preset))  # fmt: skip
                best, best_film = (made, best_film) if ladder == "best" else (best, made)
                aim_cpu = _children() - before + time.process_time() - started
                totals.best_aim_cpu += aim_cpu if ladder == "best" else 0.0
                totals.cpu[ladder] += aim_cpu
            argv = (
                best_pass(source, out, info, rungs, args, best if ladder == "best" else best_film)
                if ladder in ("best-film", "best")
                else av1_pass(source, out, info, rungs, args, rate_aim.rates(aims))
                if further
                else single_pass(source, out, info, rungs, args, crf)
            )
            _, cpu = wall_and_cpu(argv)
            totals.cpu[ladder] += cpu
            if ladder == "per-title":  # what the workers' own measurement costs next to this encode
                totals.measure_cpu += measurement_cpu(source, info, out, rungs)
                totals.encode_cpu += cpu
            if ladder == "av1":  # ... and the AV1 twins', in the same windows
                totals.av1_measure_cpu += measurement_cpu(
                    source, info, out, rungs, ladder_verdict.twins(AV1, rungs), ladder=False
                )
                totals.av1_encode_cpu += cpu
            kind = AVC if ladder in ("best-film", "best") else AV1
            for rung in rungs:
                size = info.rendition_size(rung.short_side)
                folder = out / kind.folder / rung.name if further else out / rung.name
                made = folder_bytes(folder)
                results[(ladder, rung.name)] = (made, vmaf(folder / "index.m3u8", source, info, size, args.step))
                totals.bytes[ladder] += made
            if further:
                shutil.rmtree(out / kind.folder)
            elif ladder != "per-title":
                shutil.rmtree(out)
        shutil.rmtree(work / "per-title", ignore_errors=True)
        # as the workers decide (ladder_verdict.decide), on the whole film's VMAF: the AV1 ladder is listed if
        # each rendition is as good as its H.264 twin and smaller
        listed, aimed_listed, best_listed = (listed_as_the_workers_decide(results, ladder, rungs)
                                             for ladder in ("av1", "aimed", "best"))  # fmt: skip
        totals.titles += 1
        totals.aimed_listed += aimed_listed
        totals.best_listed += best_listed
        for rung in rungs:
            (fb, fs), (pb, ps) = results[("fixed", rung.name)], results[("per-title", rung.name)]
            ab, avs = results[("av1", rung.name)]
            mb, ms = results.get(("aimed", rung.name), (0, quality.Score(0.0, 0.0, 0)))
            bb, bs = results.get(("best", rung.name), (0, quality.Score(0.0, 0.0, 0)))
            ob, os_ = results.get(("best-film", rung.name), (0, quality.Score(0.0, 0.0, 0)))
            if ob:
                totals.renditions += 1
                totals.best_scene_vmaf += ((bs.mean - os_.mean) - totals.best_scene_vmaf) / totals.renditions
            # what a browser without AV1 gets: the best H.264 ladder where the master lists it, else per-title
            hb, hs = (bb, bs) if best_listed else (pb, ps)
            totals.h264_browser += hb
            totals.worst_best_loss = max(totals.worst_best_loss, fs.mean - hs.mean)
            totals.worst_best_p5_loss = max(totals.worst_best_p5_loss, fs.p5 - hs.p5)
            totals.aimed_browser += mb if aimed_listed else pb
            if aimed_listed:
                totals.worst_aimed_loss = max(totals.worst_aimed_loss, fs.mean - ms.mean)
                totals.worst_aimed_p5_loss = max(totals.worst_aimed_p5_loss, fs.p5 - ms.p5)
            totals.worst_loss = max(totals.worst_loss, fs.mean - ps.mean)
            totals.browser += ab if listed else pb
            if listed:
                totals.worst_av1_loss = max(totals.worst_av1_loss, ps.mean - avs.mean)
                totals.listed_av1, totals.listed_h264 = totals.listed_av1 + ab, totals.listed_h264 + pb
            kbps = [8 * b / 1000 / seconds for b in (fb, pb, ab)]
            print(f"{name:<16}{rung.name:<7}{fb / 1e6:>9.2f}{kbps[0]:>8.0f}{fs.mean:>7.2f}{fs.p5:>6.1f}   "
                  f"{pb / 1e6:>12.2f}{kbps[1]:>8.0f}{ps.mean:>7.2f}{ps.p5:>6.1f}{pb / fb:>8.2f}x   "
                  f"{ab / 1e6:>7.2f}{kbps[2]:>8.0f}{avs.mean:>7.2f}{avs.p5:>6.1f}{ab / pb:>6.2f}x"
                  f"{ab / fb:>6.2f}x  {'yes' if listed else 'no':<6}   "
                  f"{mb / 1e6:>8.2f}{8 * mb / 1000 / seconds:>8.0f}{ms.mean:>7.2f}{ms.p5:>6.1f}{mb / fb:>6.2f}x"
                  f"{aims[rung.name].crf if rung.name in aims else 0:>5g}  {'yes' if aimed_listed else 'no':<6}   "
                  f"{ob / 1e6:>8.2f}{os_.mean:>7.2f}{os_.p5:>6.1f}  "
                  f"{bb / 1e6:>8.2f}{bs.mean:>7.2f}{bs.p5:>6.1f}{bb / fb:>6.2f}x"
                  f"  {'/'.join(f'{c:g}' for c in rate_aim.crfs_of(best).get(rung.name, [])):<6}"
                  f"{'yes' if best_listed else 'no'}", flush=True)  # fmt: skip
        if generated:
            source.unlink()
    return totals


def listed_as_the_workers_decide(results: dict, ladder: str, rungs: list[Rung]) -> bool:
    """Whether the workers would list `ladder` (`ladder_verdict.decide`, on the whole film's VMAF): made, and
    each rendition as good as its per-title twin and smaller."""
    twins = [(results.get((ladder, r.name)), results[("per-title", r.name)]) for r in rungs]
    return all(
        made is not None and made[0] < per_title[0] and made[1].mean >= per_title[1].mean - ladder_verdict.TOLERANCE
        for made, per_title in twins
    )


def print_totals(label: str, totals: Totals, args: argparse.Namespace) -> None:
    """One table's totals against the targets."""
    if not totals.bytes["fixed"]:
        return
    print(f"\n{label}")
    saved = 1 - totals.bytes["per-title"] / totals.bytes["fixed"]
    fixed_cpu, per_title_cpu = totals.cpu["fixed"], totals.cpu["per-title"]
    share = totals.measure_cpu / totals.encode_cpu if totals.encode_cpu else 0.0
    fixed_mb, per_title_mb = totals.bytes["fixed"] / 1e6, totals.bytes["per-title"] / 1e6
    print(f"{'total bytes':<28}{fixed_mb:>9.1f} MB fixed {per_title_mb:>9.1f} MB per-title: {saved:.1%} fewer  "
          f"target >= {TARGET_SAVED:.0%}: {_verdict(saved >= TARGET_SAVED)}")  # fmt: skip
    print(f"{'largest VMAF loss':<28}{totals.worst_loss:>9.2f} points  target <= {TARGET_VMAF_LOSS:g}: "
          f"{_verdict(totals.worst_loss <= TARGET_VMAF_LOSS)}")  # fmt: skip
    cpu_ratio = per_title_cpu / fixed_cpu
    print(f"{'encode CPU per-title/fixed':<28}{cpu_ratio:>9.2f}x  ({fixed_cpu:.0f} s, {per_title_cpu:.0f} s)  "
          f"target <= {TARGET_CPU:g}x: {_verdict(cpu_ratio <= TARGET_CPU)}")  # fmt: skip
    av1_saved = 1 - totals.listed_av1 / totals.listed_h264 if totals.listed_h264 else 0.0
    av1_total = 1 - totals.browser / totals.bytes["fixed"]
    print(f"{'AV1 listed vs their H.264':<28}{totals.listed_av1 / 1e6:>9.1f} MB vs {totals.listed_h264 / 1e6:.1f} MB: "
          f"{av1_saved:.1%} fewer (target >= {TARGET_AV1_SAVED:.0%}: {_verdict(av1_saved >= TARGET_AV1_SAVED)}); "
          f"every AV1 rendition: {totals.bytes['av1'] / 1e6:.1f} MB")  # fmt: skip
    print(f"{'AV1-capable browser':<28}{totals.browser / 1e6:>9.1f} MB: {av1_total:.1%} fewer than the fixed ladder "
          f"(target >= {TARGET_AV1_TOTAL:.0%}: {_verdict(av1_total >= TARGET_AV1_TOTAL)})")  # fmt: skip
    print(f"{'largest VMAF loss AV1/p-t':<28}{totals.worst_av1_loss:>9.2f} points of the listed ones  (equal quality: "
          f"<= {TARGET_VMAF_LOSS:g}: {_verdict(totals.worst_av1_loss <= TARGET_VMAF_LOSS)})")  # fmt: skip
    print(f"{'AV1 pass CPU':<28}{totals.cpu['av1'] / per_title_cpu:>9.2f}x the per-title pass "
          f"({totals.cpu['av1']:.0f} s)")  # fmt: skip
    if args.aim:
        aimed_total = 1 - totals.aimed_browser / totals.bytes["fixed"]
        print(f"{'AV1 aimed (RATE_AIM)':<28}{totals.aimed_listed:>9} of {totals.titles} titles listed (target: all: "
              f"{_verdict(totals.aimed_listed == totals.titles)}); an AV1-capable browser {aimed_total:.1%} fewer "
              f"bytes than the fixed ladder (target >= 50 %: {_verdict(aimed_total >= 0.5)}), at most "
              f"{totals.worst_aimed_loss:.2f} VMAF below it (<= {TARGET_VMAF_LOSS:g}: "
              f"{_verdict(totals.worst_aimed_loss <= TARGET_VMAF_LOSS)}), 5th percentile "
              f"{totals.worst_aimed_p5_loss:.2f} (<= 2: {_verdict(totals.worst_aimed_p5_loss <= 2)})")  # fmt: skip
        print(f"{'  its probes CPU':<28}{totals.aim_cpu / totals.cpu['av1']:>9.1%} of the AV1 pass' "
              f"({totals.aim_cpu:.0f} s; RATE_AIM {args.aim:g}); aimed AV1 pass with probes "
              f"{totals.cpu['aimed'] / per_title_cpu:.2f}x the per-title pass")  # fmt: skip
    if args.best_preset:
        ratio = totals.h264_browser / totals.bytes["fixed"]
        minutes = totals.seconds / 60
        print(f"{'best H.264 (' + args.best_preset + ')':<28}{totals.best_listed:>9} of {totals.titles} titles listed "
              f"in the fast ladder's place ({totals.bytes['best'] / totals.bytes['fixed']:.2f}x the fixed bytes, "
              f"every title)")  # fmt: skip
        print(f"{'  a browser without AV1':<28}{ratio:>9.2f}x the fixed ladder's bytes (target <= "
              f"0.75x: {_verdict(ratio <= 0.75)}), at most {totals.worst_best_loss:.2f} VMAF below it (<= 1: "
              f"{_verdict(totals.worst_best_loss <= 1)}), 5th percentile {totals.worst_best_p5_loss:.2f} (<= 2: "
              f"{_verdict(totals.worst_best_p5_loss <= 2)})")  # fmt: skip
        scenes_gain = totals.bytes["best"] / totals.bytes["best-film"] if totals.bytes["best-film"] else 0.0
        print(f"{'  scene by scene':<28}{scenes_gain:>9.2f}x the bytes of the same ladder aimed once per title, "
              f"mean VMAF {totals.best_scene_vmaf:+.2f} against it on average over the renditions")  # fmt: skip
        print(f"{'  its CPU per film minute':<28}{totals.cpu['best'] / minutes:>9.0f} s with its probes "
              f"({totals.best_aim_cpu / minutes:.0f} s), against {fixed_cpu / minutes:.0f} s for the fixed ladder "
              f"({totals.cpu['best'] / fixed_cpu:.2f}x) and {totals.cpu['av1'] / minutes:.0f} s for AV1")  # fmt: skip
    print(f"{'sampled VMAF / encode CPU':<28}{share:>9.1%}  ({totals.measure_cpu:.1f} s of {totals.encode_cpu:.0f} s), "
          f"H.264 alone (a window of {quality.WINDOW:g} s each at least)")  # fmt: skip
    both_measure = totals.measure_cpu + totals.av1_measure_cpu
    both_encode = totals.encode_cpu + totals.av1_encode_cpu
    print(f"{'  ... with the AV1 ladder':<28}{both_measure / both_encode:>9.1%}  ({both_measure:.1f} s of "
          f"{both_encode:.0f} s) as the workers make and score a film in one pass by default")  # fmt: skip


def film_measure_share(work: Path, args: argparse.Namespace) -> tuple[float, float]:
    """CPU seconds of the workers' sampled VMAF (both ladders, `quality.measure` with the AV1 twins) and of
    the encode (the per-title H.264 pass, then the AV1 one, as AV1_LADDER=on makes it) of a film of
    `--film-seconds`: what the measurement costs where its windows are SHARE of the film, not the one-window
    minimum of a short title."""
    source = make_source(work, "film", CORPUS["talking head"], args.film_seconds)
    info = probe(source)
    rungs = ladder_for(info.short_side)
    out = work / "film"
    out.mkdir()
    _, encode = wall_and_cpu(single_pass(source, out, info, rungs, args, args.crf))
    encode += wall_and_cpu(av1_pass(source, out, info, rungs, args))[1]
    return measurement_cpu(source, info, out, rungs, also=ladder_verdict.twins(AV1, rungs)), encode


def single_pass(
    source: Path,
    out: Path,
    info: MediaInfo,
    rungs: list[Rung],
    args: argparse.Namespace,
    crf: float | None,
    rates=None,
) -> list[str]:
    """The workers' single pass into `out` (`crf` None: the fixed ladder; `rates`: aimed, at --best-preset)."""
    preset = args.best_preset if rates else args.preset
    return FilmSteps(info, rungs, H264.at(preset), crf=crf, cap=args.cap, rates=rates or {}).single_pass(
        ffmpeg_exe(), source, out
    )


def best_ladder(args: argparse.Namespace, by_scene: bool = True) -> Ladder:
    """The best H.264 ladder at --best-preset, its rate aimed scene by scene (as the workers make it) or not."""
    return dataclasses.replace(AVC.at(args.best_preset), scenes=by_scene)


def best_pass(
    source: Path, out: Path, info: MediaInfo, rungs: list[Rung], args: argparse.Namespace, aims=None
) -> list[str]:
    """The workers' best H.264 ladder into `out` (`avc/<rung>/`, fMP4), as AVC_LADDER=on runs it after the fast
    pass (`aims`: each rung's, with its scenes' zones; else its own CRF)."""
    ladder = best_ladder(args)
    ladder_verdict.make_folders(ladder, out, rungs)
    return FilmSteps(
        info, rungs, ladder, rates=rate_aim.rates(aims or {}), zones=rate_aim.zones(aims or {}), audio_filters={}
    ).ladder_pass(ffmpeg_exe(), source, out)


def av1_pass(
    source: Path, out: Path, info: MediaInfo, rungs: list[Rung], args: argparse.Namespace, rates=None
) -> list[str]:
    """The workers' AV1 pass into `out`, as AV1_LADDER=on runs it after the single pass (`rates`: aimed)."""
    ladder_verdict.make_folders(AV1, out, rungs)
    return FilmSteps(
        info, rungs, av1_ladder.LADDER.at(str(args.av1_preset)), crf=args.av1_crf, cap=args.av1_cap,
        rates=rates or {}, audio_filters={},
    ).ladder_pass(ffmpeg_exe(), source, out)  # fmt: skip


def measurement_cpu(
    source: Path, info: MediaInfo, out: Path, rungs: list[Rung], also=None, ladder: bool = True
) -> float:
    """CPU seconds of the workers' sampled VMAF of the renditions in `out` (and the `also` folders; not
    `ladder`: those alone)."""
    started, before = time.process_time(), _children()
    quality.measure(ffmpeg_exe(), source, info, out.joinpath, rungs, also=also, ladder=ladder)
    return _children() - before + time.process_time() - started


def _children() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
