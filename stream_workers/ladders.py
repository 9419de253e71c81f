"""A ladder as a value: one codec's renditions of a film's rungs, its rate control and its container.

Two instances today: `H264` (MPEG-TS, every film, the renditions the existing frontend plays, listed always)
and `av1_ladder.LADDER` (fMP4, made once the film is ready, listed only where it measures as good as the
H.264 renditions in fewer bytes). What differs between them is data: the encoder and what else it is told, its
speed, the constant quality and its caps, the container, how much CPU it yields. The commands over the whole
film or a part (`film_steps`), the joins of a film's parts (`film_parts`, `fmp4_parts`), the playlists and
the verdict (`ladder_verdict`) are shared; a further ladder is a module of its own (`hevc_ladder`) and its
line in `ladder_registry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from videoflix.core.media import Rung

#: every ladder's segment length: keyframes are forced on this grid (from a part's start), so the segments of
#: every rendition and ladder begin together
SEGMENT_SECONDS = 4


@dataclass(frozen=True)
class Ladder:
    """`name` keys a further ladder's plan rows, its jobs and its verdict in a film's renditions; `folder`, its
    renditions' place in an output (`<folder>/<rung>/`; "" for the H.264 ladder's, at the output's root);
    `codec` and `preset`, the encoder and its speed; `options`, what else the encoder is told (a profile;
    what keeps its keyframes on the segment grid alone); `crf` and its caps (`cap_of`: a share of the rung's
    fixed bitrate), the rate control, where a `crf` of None is the fixed ladder (the rung's bitrate); the
    buffer a share of the capped rate (`buffer_of_cap`) or of the rung's; `container`, "ts" or "fmp4" (and
    the codec's `tag` there);
    `niceness`, how much it yields the CPU; `crf_bounds` and `vmaf_per_crf`, its quality-aimed rate control's
    range and first slope (`rate_aim`)."""

    name: str
    folder: str
    codec: str
    preset: str
    crf: float | None
    cap: float
    caps: Mapping[str, float] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    container: str = "fmp4"
    #: the codec's tag in an fMP4 output (HEVC's `hvc1`), where it is not the muxer's default; not given to
    #: a part's NUT pictures, which take none
    tag: str | None = None
    buffer_of_cap: bool = True
    niceness: int = 0
    #: the CRFs a quality-aimed rung may take (`rate_aim.search`), and about how many VMAF points one step of
    #: CRF costs there (its first guesses' slope, until two probes measure it)
    crf_bounds: tuple[float, float] = (14.0, 32.0)
    vmaf_per_crf: float = 0.6
    #: listed, its variants take the H.264 ones' place in the master instead of joining them (the best H.264
    #: ladder, `avc_ladder`: the fast one's second stage); the H.264 renditions stay, for the players that
    #: ask for them by name (the existing frontend plays `<rung>/index.m3u8`) and for a viewer mid-film
    replaces: bool = False
    #: its encoder takes a CRF per range of frames (x264's zones): its aim rates each of the film's scenes on
    #: its own (`scenes`), where another ladder's rate follows a long film's parts
    scenes: bool = False

    def at(self, preset: str) -> Ladder:
        """The ladder at another speed of its encoder (X264_PRESET)."""
        return dataclasses.replace(self, preset=preset)

    def cap_of(self, rung: Rung) -> float:
        """A rung's cap, a share of its fixed bitrate."""
        return self.caps.get(rung.name, self.cap)

    def rate_options(self, index: int, rung: Rung, crf: float | None = None, cap: float | None = None) -> list[str]:
        """Rate control of the `index`-th video stream: `crf` (else the ladder's) capped at `cap` of the
        rung's fixed bitrate (else `cap_of`); with neither, the fixed ladder: the rung's bitrate, peaks to
        1.07x."""
        quality = self.crf if crf is None else crf
        if quality is None:
            return [f"-b:v:{index}", f"{rung.video_kbps}k", f"-maxrate:v:{index}", f"{int(rung.video_kbps * 1.07)}k",
                    f"-bufsize:v:{index}", f"{int(rung.video_kbps * 1.5)}k"]  # fmt: skip
        kbps = int(rung.video_kbps * (cap or self.cap_of(rung)))
        buffer = int((kbps if self.buffer_of_cap else rung.video_kbps) * 1.5)
        return [f"-crf:v:{index}", f"{quality:g}", f"-maxrate:v:{index}", f"{kbps}k", f"-bufsize:v:{index}",
                f"{buffer}k"]  # fmt: skip

    def video_options(self) -> list[str]:
        """The encoder for every rendition, keyframes forced every segment length (counted from a part's
        start, so the parts of a film keep one grid)."""
        grid = ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
        return ["-c:v", self.codec, "-preset", self.preset, "-pix_fmt", "yuv420p", *self.options, *grid]

    def folders(self, rungs: list[Rung]) -> list[str]:
        """The ladder's playlist folders in an output, one per rung."""
        return [f"{self.folder}/{rung.name}" if self.folder else rung.name for rung in rungs]


#: the H.264 ladder's constant quality (x264's CRF) when per title, LADDER_CRF, and its cap (a share of the
#: fixed ladder's bitrate of the rung), chosen on bench/quality.py's corpus: the fewest bytes at which no
#: rendition of any title lost over 1 VMAF point to the fixed ladder. CRF 19 lost 1.1-1.2 on the dark scene
#: at 480p/720p (x264 gives dark pictures few bits); 18 lost 0.7-0.8. Capped at 1.0x, the hard titles rode the
#: cap at 1.03-1.11x the fixed ladder's bytes for at most +0.6 VMAF; at 0.9x they take 0.93-1.02x for at most
#: -0.43 (total: 19.7 % fewer bytes than the fixed ladder at 1.0x, 25.5 % at 0.9x; 10 s titles). x264's CRF
#: is one decision for the whole film, so a long film's parts, encoded apart, keep one quality across joins
PER_TITLE_CRF = 18.0
PER_TITLE_CAP = 0.9

#: the H.264 ladder: x264 at X264_PRESET (veryfast by default), High profile, MPEG-TS; the fixed ladder unless
#: a film's CRF is given (LADDER_CRF: per title, capped CRF with the rung's buffer)
H264 = Ladder(
    name="h264",
    folder="",
    codec="libx264",
    preset="veryfast",
    crf=None,
    cap=PER_TITLE_CAP,
    options=("-profile:v", "high"),
    container="ts",
    buffer_of_cap=False,
)
