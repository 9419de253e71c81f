"""The AV1 ladder: the same rungs again in AV1 (SVT-AV1), for the browsers that decode it, beside the H.264 one.

Made once the H.264 ladder is whole, by the film's steps for this ladder (`LADDER`, `film_steps`), in the
film's parts over every worker (`ladder_parts`), whether its H.264 ladder was made in one pass or in parts: the
source read and scaled as for the H.264 renditions, SVT-AV1 for every rung, as CMAF: fMP4 segments
(`av1/<rung>/NNN.m4s`) after each part's init segment (`#EXT-X-MAP`), with the H.264 renditions' sound copied
in (`fmp4_parts`). The film is ready before (with H.264 alone: SVT-AV1 at PRESET takes ~2.4x the
H.264 pass' CPU); once the AV1 ladder is whole it is scored in the H.264 renditions' VMAF windows
(`quality.measure`), and the master lists the AV1 variants (with their `CODECS`, av01...) after the H.264 ones
only where every AV1 rendition holds its H.264 twin's quality in fewer bytes (`ladder_verdict`): hls.js
starts with the codec it ranks first (AV1 before H.264) where the browser decodes it, and keeps to it.

Rate control as the per-title H.264 ladder's: one constant quality (CRF) capped per rung, the cap a share
of the fixed ladder's bitrate of the rung. Chosen on bench/quality.py's corpus.
"""

from __future__ import annotations

import dataclasses

from .ladders import Ladder

#: the AV1 ladder's folder in an output (`av1/<rung>/`)
FOLDER = "av1"
#: SVT-AV1's speed (0 slowest .. 13), its constant quality and its cap (a share of the fixed ladder's
#: bitrate of the rung, as the H.264 ladder's PER_TITLE_CAP), chosen on bench/quality.py's corpus against the
#: per-title H.264 ladder. Preset 10 (about x264 veryfast's cost) could not hold H.264's quality on grain at
#: any CRF: a talking head's grained backdrop stayed 2 VMAF points below from CRF 16 (0.7x the bytes) to 30
#: (0.13x); the dark scene and the moving pattern lost over 1 point. Preset 6 holds it: at CRF 34 capped at
#: 0.6x (720p, 6 s titles) the talking head takes 0.08x H.264's bytes for -0.2, film grain 0.47x for +1.4,
#: the dark scene 0.43x for -0.7, high motion 0.62x for -0.1; preset 8 lost 0.6-1.1 on the same titles.
#: Over the corpus (10 s titles, every rung, CAPS): 37.5 % fewer bytes than the per-title H.264 ladder, at
#: most 0.86 VMAF below it, for 2.4x its CPU
PRESET = 6
CRF = 34
CAP = 0.6
#: the caps of particular rungs: at 1080p SVT-AV1's lead over x264 narrows on hard pictures (the moving
#: pattern lost 1.9 VMAF at 0.6x, 0.64x H.264's bytes; at 0.75x it takes 0.89x for +0.5)
CAPS = {"1080p": 0.75}
#: the AV1 ladder as a value (`ladders.Ladder`): what its one-pass run and its parts share
LADDER = Ladder(
    name=FOLDER,
    folder=FOLDER,
    codec="libsvtav1",
    preset=str(PRESET),
    crf=CRF,
    cap=CAP,
    caps=CAPS,
    # aimed (`rate_aim`), a rung's CRF only goes down from CRF, where H.264's quality needs it: aimed up to
    # 50 as well, the real corpus' 1080p animation took CRF 50 at 480p from its samples and scored 1.1 below
    # H.264 over the whole film, so its whole AV1 ladder went unlisted (bench/quality.py). SVT-AV1's CRF
    # runs to 63; measured on the 720p animation, 28 to 46: 0.29-0.33 VMAF a step. Down to 16: at 20 the
    # real corpus' cockatoo's 720p (a hand-held camera) held AV1's 5th percentile 2.2 below the fixed
    # ladder's at 0.57x its bytes; at 18, 1.8 below at 0.64x (bench/quality.py --only cockatoo)
    crf_bounds=(16.0, float(CRF)),
    vmaf_per_crf=0.3,
    # SVT-AV1 honours forced keyframes only when asked to; its own scene cuts would add keyframes
    options=("-svtav1-params", "force-key-frames=1:scd=0"),
    #: the AV1 pass yields the CPU to the other jobs on the machine (a film's H.264 parts): the film it
    #: improves is already ready
    niceness=10,
)


def with_film_grain(ladder: Ladder, level: int) -> Ladder:
    """`ladder` with SVT-AV1's film-grain synthesis at `level` (1-50; 0: as it is), its denoising on
    (AV1_FILM_GRAIN, off by default): the encoder denoises the picture, codes what is under the grain and sends
    a table the decoder adds grain back from. Measured on the real corpus (bench/grain.py: bytes at equal
    quality, judged by plain VMAF and by VMAF on denoised pairs) it cost bytes on every real title rather than
    saving them (1.07-1.81x), and VMAF, which the verdict uses, scores synthesised grain below the source's:
    so it is the operator's choice, for a catalogue of grainy film."""
    if not level:
        return ladder
    name, params = ladder.options
    return dataclasses.replace(ladder, options=(name, f"{params}:film-grain={level}:film-grain-denoise=1"))
