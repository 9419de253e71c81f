"""The HEVC ladder: the same rungs in H.265 (x265), as `hvc1` in fMP4, for Apple devices, which decode it in
hardware where AV1 has none; off by default (HEVC_LADDER), as licensing it is the operator's call.

A ladder is a value (`ladders.Ladder`): this module is all there is to it, with its line in `ladder_registry`.
Made, joined, scored and listed as every further ladder is (`film_steps`, `ladder_parts`, `ladder_verdict`):
listed only where each rendition holds its H.264 twin's quality in fewer bytes. hls.js offers it only where
the browser's MediaSource takes `hvc1` (Safari; not Chromium on Linux), so elsewhere the H.264 ladder plays.
"""

from __future__ import annotations

from .ladders import Ladder

#: x265's speed, its constant quality and its cap (a share of the rung's fixed bitrate), measured against the
#: per-title H.264 ladder (bench/ladders.py: see its figures in the README)
PRESET = "fast"
CRF = 24
CAP = 0.7

LADDER = Ladder(
    name="hevc",
    folder="hevc",
    codec="libx265",
    preset=PRESET,
    crf=CRF,
    cap=CAP,
    crf_bounds=(12.0, float(CRF)),  # aimed, only down from its own (as AV1's, `av1_ladder`)
    # no scene cut keyframes and closed GOPs, so the segments start on the grid's keyframes alone and decode
    # alone
    options=("-x265-params", "scenecut=0:open-gop=0:log-level=error"),
    # the parameter sets in the init segment, which Apple's players require (not `hev1`)
    tag="hvc1",
    niceness=10,
)
