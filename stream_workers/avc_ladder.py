"""The best H.264 ladder: the film's second stage, which takes the fast H.264 ladder's place in the master.

A film is playable seconds after its upload because its H.264 ladder is made fast (x264 veryfast, one CRF for
every film). Once it is ready, this ladder makes the same rungs again at x264's slower, better search
(AVC_PRESET, slow by default), each rung's CRF aimed at the fast ladder's quality on the film's own scenes
(`rate_aim`, per part of a long film: a rate per part at one quality), in fMP4 (`avc1`), over every worker as
every further ladder is made (`ladder_plans`, `ladder_parts`). Scored in the fast renditions' VMAF windows, it is
listed only where every rendition holds its fast twin's quality in fewer bytes (`ladder_verdict`), and then it
*replaces* the fast variants in the master (`Ladder.replaces`), atomically: a player that opens the film after
plays it; a viewer mid-film keeps the fast files, which stay (the existing frontend plays `<rung>/index.m3u8`,
and a dead pass run again puts the fast variants back). The AV1 ladder joins whichever H.264 ladder is listed.

Unlike the other further ladders, its aim may raise a rung's CRF above its own as well as lower it: saving bytes
where the fast ladder spends them on quality no one can tell is its purpose, and the verdict, on the whole
film's VMAF, keeps it from being listed where the samples misjudged a rung.
"""

from __future__ import annotations

from .ladders import H264, PER_TITLE_CAP, Ladder

#: x264's speed for the best ladder (AVC_PRESET's default): bench/quality.py measures its bytes and CPU
PRESET = "slow"
#: its CRF where the rate is not aimed (RATE_AIM=off, or the probes failed), and where the aim starts: the
#: middle of its bounds
CRF = 23
#: the CRFs the aim may give a rung (x264: 0..51); 16 is where x264 slow spends more than the fast ladder's cap
BOUNDS = (16.0, 32.0)

LADDER = Ladder(
    name="avc",
    folder="avc",
    codec="libx264",
    preset=PRESET,
    crf=CRF,
    cap=PER_TITLE_CAP,  # the fast ladder's cap, so the aim's probes and the rendition ride the same ceiling
    options=H264.options,
    crf_bounds=BOUNDS,
    vmaf_per_crf=0.6,
    replaces=True,
    # each scene at its own rate (x264's zones: `scenes`), its keyframes where its shots cut (x264's own)
    scenes=True,
    # the film it improves already plays: the other jobs on the machine (a new film's fast parts) go first
    niceness=10,
)
