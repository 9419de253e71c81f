"""Rate control aimed at a quality: for each rung, the encoder's constant quality (CRF) that reaches a target
VMAF in the fewest bytes, found from short probe encodes of the film's own scenes.

One CRF for every film (the ladders' defaults) is too much for an easy film and too little for a hard one: on
real footage the AV1 ladder at CRF 34 lost 1.8 VMAF to H.264 on an animated short, and the whole ladder was
not listed (bench/quality.py). Aimed instead, each rung gets what its pictures need:

- Scenes are sampled (`aim_sample`: 1 s windows spread over a share of the stretch, RATE_AIM, and the second
  before each cut and the stretch's first, each frame weighed by the film it stands for) and put together
  once, losslessly, as the renditions are made from them (`hls.picture_filters`): the sample clip
  (`sample_command`).
- Per rung, the clip is encoded as the reference ladder makes it (the ladder a further ladder is judged against: the
  film's H.264 ladder, as it is made) and as the fixed ladder makes it, each scored with VMAF: the target is the
  better score less MARGIN (a further ladder holds the quality the film had before per-title where per-title fell
  below it), and its 5th percentile less P5_MARGIN (a film's worst moments: `Probe.against` weighs both as one
  number). Then the aimed ladder's encoder at candidate CRFs (`search`: from the ladder's own CRF, stepping by the
  measured slope, at most PROBES), each scored the same way; the rung gets the highest CRF measured to reach the
  target, at the reference's cap (a rung that needs more bits gets them up to the rate the H.264 rung may take,
  never a cut-down cap that holds it below its quality), even at the ladder's own CRF: the cap is the margin the
  samples' estimate needs (on the real corpus, the rendered 3D animation at CRF 34 scored 94.85 under AV1's own 0.6x
  cap, 1.15 below H.264 and unlisted, and 95.31 under 0.9x, listed; the one-cap-fits rule costs the 1080p animation
  13 % more AV1 bytes: bench/quality.py). AV1's and HEVC's bounds stop at their own CRF (the best H.264 ladder's do
  not: saving bytes is its purpose, and its verdict guards it): the aim raises a rate where the film needs it and
  does not cut one below what the ladder was chosen at (the samples' estimate is off by up to ~1.6 points on some
  films; a cut on it lost a whole AV1 ladder in bench/quality.py). An easy film costs one probe per rung. A rate
  the verdict must refuse (no fewer bytes than the served rendition) gives way to the best probe it would list
  (`smaller_than`).
- A ladder whose encoder takes a CRF per range of frames (`Ladder.scenes`: x264, the best H.264 ladder) has
  its windows placed inside the film's shots and each scene rated on its own from the same probes
  (`scenes`, `scene_zones`).
- A film made in one pass is aimed once; a long film made in parts, each part on its own scenes (a rate per
  part aimed at one quality: an action part gets more bits than a dialogue part), by whichever worker
  encodes it, with no coordination: the parts are independent, and a part run again is aimed again alike.

Every input is read through the one input helper; the clip and the probes are files of ours in the job's
folder, removed after.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.containers import input_options
from videoflix.core.media import MediaInfo, Rung

from . import aim_sample, ffmpeg_run, hls, ladder_verdict, quality, scenes
from .ladders import H264, Ladder
from .settings import WorkerSettings

log = logging.getLogger(__name__)

#: the default share of a stretch sampled (RATE_AIM): with the reference and about three probes per rung, the
#: aim costs about 4 x 5 % of an encode at the probes' speed (bench/quality.py measures it)
SHARE = 0.05
#: probe encodes per rung at most (the reference's aside)
PROBES = 3
#: VMAF points the target lies below the reference's score: the samples' estimate of the whole film's
#: quality is off by a few tenths (bench/quality.py: sampled against whole), and the verdict allows 1 point
MARGIN = 0.5
#: the same for the 5th percentile (a film's worst moments), which may lie 2 points below the fixed ladder's
#: (issue 35's rule). Aimed at the mean alone, the best ladder held the cyclists' mean within 0.2 and lost 2.2
#: on their 5th percentile (bench/quality.py); aimed at both it still did while the samples never saw those
#: moments (they are at the cuts, and the scenes' windows lie inside the shots): hence `aim_sample`'s windows
#: at the cuts
P5_MARGIN = 1.5
#: every how many frames a probe is scored: odd, as every step (`quality.vmaf`). Every 2nd frame scored SVT-AV1's
#: lower temporal layers alone (its mini-GOP of 32: the odd frames are its top layer, the worst): the real corpus'
#: cockatoo at 480p, AV1 CRF 34, scored 97.04 every 2nd frame, 95.63 on every frame, 95.59 every 3rd, so the
#: aim took AV1 for 1.4 points better than it was and its 5th percentile fell 2.4 below the fixed ladder's
STEP = 3


@dataclass(frozen=True)
class Probe:
    """One probe encode of the sample clip: its CRF, VMAF (mean) and average bitrate (kbit/s), each sampled
    window's VMAF (mean), in order, and the 5th percentile of its frames'."""

    crf: float
    vmaf: float
    kbps: float
    windows: tuple[float, ...] = ()
    p5: float = 100.0

    def against(self, target: float, p5_target: float) -> float:
        """Its VMAF as the aim weighs it: the mean, or where the 5th percentile falls further below its own
        target, that shortfall below the mean's target (one number to search on, reaching `target` only
        where both reach theirs)."""
        return min(self.vmaf, target + self.p5 - p5_target)


@dataclass(frozen=True)
class RungAim:
    """A rung's aimed rate control: `crf` capped at `cap` (a share of the rung's fixed bitrate), reaching
    `target` (the reference's `reference` VMAF less MARGIN) on the samples; the `probes` that found it."""

    crf: float
    cap: float
    target: float
    reference: float
    probes: tuple[Probe, ...]
    #: each scene's own CRF where it differs from `crf` (a ladder that `scenes`: x264's zones, in frames of
    #: the stretch); none where the stretch is one scene
    zones: tuple[tuple[int, int, float], ...] = ()

    @property
    def reached(self) -> bool:
        return any(p.crf == self.crf and p.vmaf >= self.target for p in self.probes)


def sample_command(
    ffmpeg: str, source: Path, info: MediaInfo, spans: list[tuple[float, float]], clip: Path
) -> list[str]:
    """FFmpeg putting the sampled scenes together as the renditions are made from them (deinterlaced,
    tone-mapped, constant-rate, square pixels), losslessly (x264 at QP 0, 4:4:4: a picture of an odd size, as
    a 720x405 camera's, keeps every pixel), into the sample clip (Matroska). Each scene read by a seek of its
    own; a source that does not decode cleanly from one (`seeking`), decoded once from its start and cut."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    chains = []
    if not info.seeks:
        argv += input_options(source, info.container, length=max(start + length for start, length in spans))
        cuts = "".join(f"[s{i}]" for i in range(len(spans)))
        chains.append(f"[0:v:0]setpts=PTS-STARTPTS,{hls.picture_filters(info, hls.constant_rate(info, None))}"
                      f"split={len(spans)}{cuts}")  # fmt: skip
        chains += [f"[s{i}]trim=start={start:.3f}:duration={length:.3f},setpts=PTS-STARTPTS[w{i}]"
                   for i, (start, length) in enumerate(spans)]  # fmt: skip
    for i, (start, length) in enumerate(spans if info.seeks else []):
        argv += input_options(source, info.container, start=start, length=length)
        chains.append(f"[{i}:v:0]{hls.picture_filters(info, hls.constant_rate(info, None))}setpts=PTS-STARTPTS[w{i}]")
    joined = "".join(f"[w{i}]" for i in range(len(spans)))
    graph = ";".join([*chains, f"{joined}concat=n={len(spans)}:v=1:a=0,format=yuv444p[clip]"])
    return [*argv, "-filter_complex", graph, "-map", "[clip]", "-c:v", "libx264", "-preset", "ultrafast",
            "-qp", "0", "-f", "matroska", str(clip)]  # fmt: skip


def probe_command(
    ffmpeg: str, clip: Path, size: tuple[int, int], ladder: Ladder, rate: list[str], out: Path
) -> list[str]:
    """FFmpeg encoding the sample clip at a rung's `size` as `ladder` encodes a rendition, with `rate`."""
    width, height = size
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *input_options(clip, "matroska"),
            "-vf", f"scale={width}:{height}:flags=bicubic", *rate, *ladder.video_options(), "-an",
            "-f", "matroska", str(out)]  # fmt: skip


def score_command(ffmpeg: str, probe: Path, clip: Path, size: tuple[int, int], log_path: Path) -> list[str]:
    """FFmpeg scoring a probe against the sample clip scaled to its size (`quality.aligned_pair`)."""
    graph = quality.aligned_pair("0:v:0", "1:v:0", size)
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            *input_options(probe, "matroska"), *input_options(clip, "matroska"),
            "-filter_complex", f"{graph};[dist][ref]{quality.vmaf(log_path, STEP)}",
            "-fps_mode", "passthrough", "-f", "null", "-"]  # fmt: skip


def search(measure: Callable[[float], float], target: float, ladder: Ladder, probes: int = PROBES) -> float:
    """The highest CRF measured (`measure(crf)`: its VMAF) to reach `target`, from the ladder's own CRF (the
    middle of its bounds where it has none: the fixed H.264 ladder), each
    next guess on the line through the two nearest measurements (the ladder's `vmaf_per_crf` until there
    are two), within its `crf_bounds`, whole numbers. Where none reached it, one step past the best measured
    by the slope (the verdict still judges what it gives)."""
    lowest, highest = ladder.crf_bounds
    tried: dict[float, float] = {}
    crf = min(max(float(ladder.crf if ladder.crf is not None else (lowest + highest) // 2), lowest), highest)
    for _ in range(probes):
        tried[crf] = measure(crf)
        good = [c for c, v in tried.items() if v >= target]
        bad = [c for c, v in tried.items() if v < target and (not good or c > max(good))]
        if good and (max(good) >= highest or (bad and min(bad) - max(good) <= 1)):
            break
        if not good and crf <= lowest:
            break
        crf = _next(tried, target, ladder, max(good) if good else None, min(bad) if bad else None)
        if crf in tried:
            break
    good = [c for c, v in tried.items() if v >= target]
    if good:
        return max(good)
    best = min(tried)
    return max(lowest, float(math.floor(best - (target - tried[best]) / _slope(tried, target, ladder) + 1e-6)))


def _slope(tried: Mapping[float, float], target: float, ladder: Ladder) -> float:
    """VMAF points a step of CRF costs, through the two measurements nearest the target (the ladder's guess
    until there are two, or where they disagree with VMAF falling as the CRF rises)."""
    nearest = sorted(tried, key=lambda c: abs(tried[c] - target))[:2]
    if len(nearest) == 2:
        a, b = nearest
        measured = (tried[a] - tried[b]) / (b - a)
        if measured > 0.05:
            return measured
    return ladder.vmaf_per_crf


def _next(tried: Mapping[float, float], target: float, ladder: Ladder, good: float | None, bad: float | None) -> float:
    """The next CRF to try: on the line from the measurement nearest the target, inside the bracket found."""
    lowest, highest = ladder.crf_bounds
    anchor = min(tried, key=lambda c: abs(tried[c] - target))
    guess = anchor + (tried[anchor] - target) / _slope(tried, target, ladder)
    if good is not None and bad is not None:  # stay strictly inside the bracket
        guess = min(max(guess, good + 1), bad - 1)
    guess = math.floor(guess + 1e-6) if tried[anchor] < target else math.floor(guess + 0.5)
    return float(min(max(guess, lowest), highest))


def aim(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    ladder: Ladder,
    reference: Ladder,
    rungs: list[Rung],
    stretch: tuple[float, float],
    share: float = SHARE,
    timeout: float = 3600.0,
    workdir: Path | None = None,
    also: Ladder | None = None,
) -> dict[str, RungAim]:
    """(Blocking.) Each rung's aimed rate control for `ladder` over `stretch` (start, seconds) of the film:
    the target, `reference`'s VMAF on the samples (or `also`'s, where higher: the fixed ladder's, the quality
    the film had before per-title) less MARGIN; TranscodeError where FFmpeg fails."""
    with tempfile.TemporaryDirectory(prefix="aim-", dir=workdir) as scratch:
        folder = Path(scratch)
        clip = folder / "clip.mkv"
        spread = aim_sample.windows(*stretch, share)
        found = scenes.cuts(ffmpeg, source, info, stretch, timeout, ladder.niceness)
        parts = scenes.grouped(scenes.of_stretch(stretch[1], found), len(spread))
        if ladder.scenes and len(parts) > 1:  # each scene sampled, and rated on its own
            spread = scenes.placed(spread, parts, stretch[0])
        sample = aim_sample.Sample.of(spread, parts, stretch)  # and the seconds before the cuts
        parts = parts if ladder.scenes else [(0.0, stretch[1])]
        ffmpeg_run.run_to_end(sample_command(ffmpeg, source, info, list(sample.spans), clip), timeout,
                              ladder.niceness)  # fmt: skip
        seconds = sample.seconds

        def encode(rung: Rung, coder: Ladder, crf: float | None, cap: float | None) -> Probe:
            size, out, scores = quality.size_of(info, rung), folder / "probe.mkv", folder / "probe.json"
            rate = coder.rate_options(0, rung, crf, cap)
            ffmpeg_run.run_to_end(probe_command(ffmpeg, clip, size, coder, rate, out), timeout, ladder.niceness)
            ffmpeg_run.run_to_end(score_command(ffmpeg, out, clip, size, scores), timeout, ladder.niceness)
            frames = quality.frame_scores(scores)
            scored, each = sample.score(frames), sample.means(frames)
            kbps = out.stat().st_size * 8 / 1000 / max(seconds, 0.1)
            return Probe(crf if crf is not None else -1.0, scored.mean, kbps, tuple(each), scored.p5)

        aims = {}
        for rung in rungs:
            cap = reference.cap_of(rung)
            made = served = encode(rung, reference, reference.crf, None)
            if also is not None:
                made = max(made, encode(rung, also, also.crf, None), key=lambda probe: probe.vmaf)
            target, p5_target = made.vmaf - MARGIN, made.p5 - P5_MARGIN
            probes: list[Probe] = []

            def measure(crf: float, rung: Rung = rung, cap: float = cap, probes: list[Probe] = probes,
                        target: float = target, p5_target: float = p5_target) -> float:  # fmt: skip
                probes.append(encode(rung, ladder, crf, cap))
                return probes[-1].against(target, p5_target)

            crf = smaller_than(search(measure, target, ladder), probes, served)
            zones = scene_zones(info, ladder, parts, list(sample.spans), stretch[0], probes, target, crf,
                                scene_shift(crf, probes, target)) if len(parts) > 1 else ()  # fmt: skip
            aims[rung.name] = RungAim(crf, cap, round(target, 2), round(made.vmaf, 2), tuple(probes), zones)
            log.info("%s %s aimed at VMAF %.1f: CRF %g (%s)%s", ladder.name, rung.name, target, crf,
                     ", ".join(f"{p.crf:g}: {p.vmaf:.1f} at {p.kbps:.0f} kb/s" for p in probes),
                     f"; {len(parts)} scenes at {sorted({z[2] for z in zones} | {crf})}" if zones else "")  # fmt: skip
        return aims


def smaller_than(crf: float, probes: list[Probe], served: Probe) -> float:
    """`crf`, unless its probe took the served rendition's bytes or more (`served`: the reference's probe) where
    another probe took fewer within the verdict's tolerance of its quality: then the lowest CRF of those. The
    verdict lists a ladder only where every rung is as good (`ladder_verdict.TOLERANCE`) and smaller than the
    served one, so a rung that reaches its target only at the served rendition's bytes keeps the whole ladder out
    where a cheaper probe within the verdict's point would not: better the best quality that can be listed than
    a rung that cannot. (Judged on the samples' bytes, which may differ from the whole film's: the cockatoo's AV1
    480p took CRF 20 for its 5th percentile, smaller on the samples, 1.02x the fast bytes on the whole film.)"""
    chosen = next((p for p in probes if p.crf == crf), None)
    if chosen is None or chosen.kbps < served.kbps:
        return crf
    fewer = [p.crf for p in probes if p.kbps < served.kbps and p.vmaf >= served.vmaf - ladder_verdict.TOLERANCE]
    return min(fewer, default=crf)


def scene_shift(crf: float, probes: list[Probe], target: float) -> float:
    """How far every scene's CRF moves from what its windows' means say: the scenes are rated on their means,
    so where the rung's CRF is not the highest whose mean reached the target (the 5th percentile held it lower;
    `smaller_than` raised it to a rate the verdict can list), they move with it, by as much."""
    by_mean = max((p.crf for p in probes if p.vmaf >= target), default=crf)
    return crf - by_mean


def scene_zones(
    info: MediaInfo,
    ladder: Ladder,
    parts: list[tuple[float, float]],
    spans: list[tuple[float, float]],
    start: float,
    probes: list[Probe],
    target: float,
    crf: float,
    shift: float = 0.0,
) -> tuple[tuple[int, int, float], ...]:
    """Each scene's CRF (`scenes.crf_for`: from its own windows' VMAF in the rung's probes, on the slope the
    probes measured), as x264's zones of the stretch's frames: each scene at the target, where one CRF for the
    stretch gives an easy scene more than it needs and a hard one less."""
    slope = _slope({p.crf: p.vmaf for p in probes}, target, ladder)
    owners = [scenes.scene_of(span, parts, start) for span in spans]
    crfs = []
    for index in range(len(parts)):
        mine = [i for i, owner in enumerate(owners) if owner == index]
        measured = {p.crf: sum(p.windows[i] for i in mine) / len(mine) for p in probes if mine and p.windows}
        own = scenes.crf_for(measured, target, slope, ladder.crf_bounds) + shift if measured else crf
        crfs.append(min(max(ladder.crf_bounds[0], own), ladder.crf_bounds[1]))
    rate = info.cfr_rate or info.fps or 25.0
    return scenes.frame_zones(parts, crfs, rate, crf)


def rates_for(
    settings: WorkerSettings,
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    ladder: Ladder,
    rungs: list[Rung],
    stretch: tuple[float, float],
) -> dict[str, RungAim]:
    """(Blocking.) The rungs' aims for a further ladder over `stretch`, against the film's H.264 ladder as the
    workers make it (X264_PRESET, LADDER_CRF) or the fixed ladder, whichever scores higher on the samples (a
    further ladder holds the better of the quality the film is served at and the one it had before per-title:
    on the real corpus, the per-title ladder is up to ~1 point below the fixed one on some titles, up to
    ~1.2 above on others); none where RATE_AIM is off, or where the probes fail (the ladder's own CRF then:
    the aim is an optimisation, never a reason to fail a film)."""
    if not settings.rate_aim:
        return {}
    fixed = H264.at(settings.x264_preset)
    reference = dataclasses.replace(fixed, crf=settings.ladder_crf)
    settings.scratch.mkdir(parents=True, exist_ok=True)
    try:
        return aim(ffmpeg, source, info, ladder, reference, rungs, stretch, settings.rate_aim,
                   settings.job_timeout, settings.scratch, fixed if reference.crf is not None else None)  # fmt: skip
    except (ffmpeg_run.TranscodeError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        log.warning("%s: rate not aimed (%s); its own CRF", ladder.name, exc)
        return {}


def rates(aims: Mapping[str, RungAim]) -> dict[str, tuple[float, float]]:
    """The aims as `FilmSteps.rates` takes them: each rung's (CRF, cap)."""
    return {name: (a.crf, a.cap) for name, a in aims.items()}


def zones(aims: Mapping[str, RungAim]) -> dict[str, tuple[tuple[int, int, float], ...]]:
    """The aims' scenes as `FilmSteps.zones` takes them: each rung's scenes at CRFs of their own."""
    return {name: a.zones for name, a in aims.items() if a.zones}


def crfs_of(aims: Mapping[str, RungAim]) -> dict[str, list[float]]:
    """Each rung's CRFs: its own and its scenes' (what the status shows of the aim)."""
    return {name: sorted({a.crf, *(zone[2] for zone in a.zones)}) for name, a in aims.items()}


#: where a part's plan row keeps the CRF it was made at per rung (`served`, beside its segments)
AIMED = "aimed"


def with_crfs(renditions: list[dict], ladder: Ladder, crfs: Mapping[str, list[float]]) -> list[dict]:
    """`renditions` with each rung's aimed CRFs in its twin's facts (`crf`: one per part, from the lowest):
    what the operator sees of the aim."""
    return [
        {**r, ladder.name: {**r[ladder.name], "crf": sorted(set(crfs[r["name"]]))}}
        if ladder.name in r and crfs.get(r["name"]) else r
        for r in renditions
    ]  # fmt: skip
