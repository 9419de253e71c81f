"""Media facts and files, shared by the web tier (upload checks) and the workers (transcoding); what FFmpeg
may read, and how, is in `containers`.

There is no ffprobe in the imageio-ffmpeg wheel, so facts are read from what `ffmpeg -i FILE` prints.
Storage layout under MEDIA_ROOT (all paths kept in the database are relative to it):

    uploads/<uuid>.part                 a one-request upload being received (tus-<id>.part: a resumable one)
    videos/<id>/source<ext>             the original
    videos/<id>/hls-<job>/              an output: master.m3u8, <rendition>/index.m3u8 + NNN.ts, thumbnail.jpg
                                        (a long film's jobs also write parts/ there, removed at assembly);
                                        served once the database names it: while it grows (playable) and
                                        when it is complete (ready)
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .containers import CONTAINERS, ObjectURL, ProbeFailed, ffmpeg_exe, input_options, sniff_file

#: subtitle codecs that are text, which FFmpeg converts to WebVTT (bitmap ones, PGS or DVD, cannot be)
TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text", "microdvd", "subviewer"})


@dataclass(frozen=True)
class SubtitleStream:
    """A subtitle stream of the source: its place among the subtitle streams (FFmpeg's `0:s:<index>`), its
    language as the container tags it (ISO 639-2, "ger"; "" if untagged), codec and title."""

    index: int
    language: str
    codec: str
    title: str = ""

    @property
    def text(self) -> bool:
        return self.codec in TEXT_SUBTITLES


@dataclass(frozen=True)
class AudioStream:
    """An audio stream of the source: its place among the audio streams (FFmpeg's `0:a:<index>`), its
    language tag ("" if untagged), channel layout as FFmpeg names it, and whether it is the default."""

    index: int
    language: str
    channels: str
    default: bool = False
    title: str = ""  # as the container names it ("Director's commentary"), "" if it does not


@dataclass(frozen=True)
class MediaInfo:
    duration: float | None  # seconds; None when the container does not say
    width: int | None  # as displayed, i.e. after rotation
    height: int | None
    fps: float | None
    video_codec: str | None
    has_audio: bool
    rotation: int = 0
    #: the family it was read as (a key of CONTAINERS): every later FFmpeg run reads it the same way
    container: str = ""
    #: the format FFmpeg reported reading ("Input #0, <format>, from"), None when it could open nothing
    format: str | None = None
    streams: int = 0  # of any kind (video, audio, subtitles, data, attachments)
    subtitles: tuple[SubtitleStream, ...] = ()
    #: the video stream declares a field order (top or bottom first): its frames are deinterlaced
    interlaced: bool = False
    #: its pixels are not square (SAR != 1, e.g. PAL DV's 16:15): `width` is already the displayed width, and
    #: the workers resample to square pixels, since browsers show JPEGs (thumbnail, storyboard) as stored
    anamorphic: bool = False
    #: a variable-frame-rate source (its average rate, `fps`, differs from its stream's base rate, FFmpeg's
    #: `tbr`: phones, screen recordings) is made constant at this rate; None for a constant one
    cfr_rate: float | None = None
    audio_streams: tuple[AudioStream, ...] = ()
    #: high dynamic range: "pq" (HDR10, SMPTE 2084) or "hlg" (ARIB STD-B67), tone-mapped to SDR BT.709
    hdr: str | None = None
    #: the field order ("tff", "bff") the workers found in a picture that declares none but is interlaced
    #: (stream_workers.interlacing): every frame is deinterlaced with it
    field_order: str | None = None
    #: the most seconds of the source any decode of the workers reads (`MediaLimits.decode_cap`: what was
    #: checked); a film that reaches it holds more than it says, and fails
    decode_seconds: float | None = None
    #: it decodes cleanly from a seek (the workers check: stream_workers.seeking); where not, every run reads it
    #: from its start, and it is made in one pass, never in parts
    seeks: bool = True

    def __post_init__(self):
        # jobs carry the facts as JSON (dataclasses.asdict): the streams come back as dicts
        streams = tuple(s if isinstance(s, SubtitleStream) else SubtitleStream(**s) for s in self.subtitles)
        object.__setattr__(self, "subtitles", streams)
        sounds = tuple(s if isinstance(s, AudioStream) else AudioStream(**s) for s in self.audio_streams)
        object.__setattr__(self, "audio_streams", sounds)

    @property
    def default_audio(self) -> int:
        """The audio stream renditions carry: the one the source marks default, else its first."""
        return next((s.index for s in self.audio_streams if s.default), 0)

    @property
    def alternate_audio(self) -> tuple[AudioStream, ...]:
        """The audio streams a viewer can switch to besides the default one (which every rendition carries):
        all the others, when the source has several."""
        return tuple(s for s in self.audio_streams if s.index != self.default_audio)

    @property
    def bounded_length(self) -> float | None:
        """What counts planned from the film's length (sheets, parts) use: its stated length, else the most
        any decode reads, so nothing derived grows with a length the file leaves unsaid."""
        return self.duration or self.decode_seconds

    @property
    def portrait(self) -> bool:
        """Taller than wide as displayed (a phone held upright; rotation already applied)."""
        return bool(self.width and self.height and self.height > self.width)

    @property
    def short_side(self) -> int | None:
        """The displayed picture's short side: what the ladder is planned on."""
        return min(self.width, self.height) if self.width and self.height else self.height

    def rendition_size(self, short_side: int) -> tuple[int | None, int | None]:
        """(width, height) of a rendition whose short side is `short_side`, the other side by the displayed
        aspect, even (what FFmpeg's `scale=-2` makes)."""
        if not (self.width and self.height):
            return None, short_side
        long_side = round(max(self.width, self.height) * short_side / min(self.width, self.height) / 2) * 2
        return (short_side, long_side) if self.portrait else (long_side, short_side)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None and bool(self.width) and bool(self.height)


# FFmpeg's own lines sit at fixed indentation ("  Duration:", "  Stream #0:n"); a metadata value is printed
# after its key ("    title           : ...", a line break in it continues at the key's column), so no value
# can start one of these lines: anchored on that indentation, a title cannot pass for the streams' facts
_DURATION = re.compile(r"^  Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", re.MULTILINE)
_VIDEO = re.compile(r"^  Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\(\w+\))?: Video: (\w+)(.*)", re.MULTILINE)
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})[ ,\[]")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(k?) fps")  # FFmpeg writes 1000 fps as `1k fps`
_ROTATION = re.compile(r"^ +(?:displaymatrix|Display Matrix): rotation of (-?\d+(?:\.\d+)?) degrees", re.MULTILINE)
_FORMAT = re.compile(r"^Input #0, (.+?), from ", re.MULTILINE)
_STREAM = re.compile(r"^  Stream #0:(\d+)", re.MULTILINE)
_SAR = re.compile(r"\[SAR (\d+):(\d+) DAR")
_TBR = re.compile(r"(\d+(?:\.\d+)?)(k?) tbr")
#: the highest constant rate a variable-rate source is given (its base rate may be a timescale, 1000 or 90k)
MAX_CFR = 60.0
#: FFmpeg names a stream's field order in its pixel format's details: "yuv420p(tv, top first)"
_FIELD_ORDER = re.compile(r"\((?:[^()]*, )?(?:top|bottom)(?: coded)? first")
_AUDIO = re.compile(
    r"^  Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\((\w+)\))?: Audio: \w+[^\n]*?, \d+ Hz, ([^,\n]+)(.*)", re.MULTILINE
)
_SUBTITLE = re.compile(r"^  Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\((\w+)\))?: Subtitle: (\w+)", re.MULTILINE)
_TITLE = re.compile(r"^\s+title\s*: (.*)$", re.MULTILINE)


def _title_after(stderr: str, end: int) -> str:
    """The `title` in the metadata of the stream whose line ends at `end` ("" if it has none)."""
    after = stderr[end : end + 2000]
    block = after[: after.find("\n  Stream #")] if "\n  Stream #" in after else after
    return found.group(1).strip()[:100] if (found := _TITLE.search(block)) else ""


def _audio_streams(stderr: str) -> tuple[AudioStream, ...]:
    return tuple(
        AudioStream(
            index,
            match.group(1) or "",
            match.group(2).strip(),
            "(default)" in match.group(3),
            _title_after(stderr, match.end()),
        )
        for index, match in enumerate(_AUDIO.finditer(stderr))
    )


def _subtitle_streams(stderr: str) -> tuple[SubtitleStream, ...]:
    return tuple(
        SubtitleStream(index, match.group(1) or "", match.group(2), _title_after(stderr, match.end()))
        for index, match in enumerate(_SUBTITLE.finditer(stderr))
    )


def parse_probe(stderr: str) -> MediaInfo:
    """Read the facts of the first video stream (and whether there is audio) from `ffmpeg -i` output."""
    duration = None
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    codec = width = height = fps = None
    rotation = 0
    if match := _VIDEO.search(stderr):
        codec, rest = match.group(1), match.group(2) + " "
        if size := _SIZE.search(rest):
            width, height = int(size.group(1)), int(size.group(2))
        if rate := _FPS.search(rest):
            fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
        after = stderr[match.end() : match.end() + 2000]
        next_stream = after.find("\n  Stream #")
        if rot := _ROTATION.search(after if next_stream < 0 else after[:next_stream]):
            rotation = round(float(rot.group(1))) % 360
    interlaced = bool(match and _FIELD_ORDER.search(match.group(2)))
    sar = _SAR.search(match.group(2)) if match and width else None
    num, den = (int(sar.group(1)), int(sar.group(2))) if sar else (1, 1)
    anamorphic = bool(num and den and num != den)
    if anamorphic:
        width = max(2, round(width * num / den / 2) * 2)  # as displayed
    colour = match.group(2) if match else ""
    hdr = "pq" if "smpte2084" in colour else "hlg" if "arib-std-b67" in colour else None
    cfr_rate = None
    if match and fps and (tbr := _TBR.search(match.group(2))):
        base = float(tbr.group(1)) * (1000 if tbr.group(2) else 1)
        field_rate = interlaced and abs(base - 2 * fps) < 0.01 * base  # (interlaced H.264: tbr counts fields)
        if abs(base - fps) > 0.01 * max(base, fps) and not field_rate:  # frames come at varying intervals
            cfr_rate = min(base, MAX_CFR) if base >= fps else min(fps, MAX_CFR)
    if width and height and rotation in (90, 270):
        width, height = height, width  # FFmpeg rotates on decode; the output has the displayed size
    has_audio = _AUDIO.search(stderr) is not None
    reported = match.group(1) if (match := _FORMAT.search(stderr)) else None
    streams = len(set(_STREAM.findall(stderr)))
    return MediaInfo(
        duration, width, height, fps, codec, has_audio, rotation, format=reported, streams=streams,
        subtitles=_subtitle_streams(stderr), interlaced=interlaced, anamorphic=anamorphic, cfr_rate=cfr_rate,
        audio_streams=_audio_streams(stderr), hdr=hdr,
    )  # fmt: skip


def probe(
    path: Path | ObjectURL, ffmpeg: str | None = None, timeout: float = 30.0, container: str | None = None
) -> MediaInfo:
    """Media facts of `path`, read as the family `container` (by default the one its first bytes announce; a
    stored object's URL must name it):
    ProbeFailed if it is none we accept, or FFmpeg reports reading another format. `ffmpeg -i` without an
    output always exits 1; the facts are on stderr."""
    container = container or sniff_file(path)
    try:
        result = subprocess.run(  # noqa: S603 - our own ffmpeg, reading one file as one demuxer
            [ffmpeg_exe(ffmpeg), "-hide_banner", "-nostdin", *input_options(path, container)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeFailed("reading the file's media information timed out") from None
    info = replace(parse_probe(result.stderr.decode("utf-8", "replace")), container=container)
    if info.format is not None and info.format != CONTAINERS[container].reported:
        raise ProbeFailed(f"the file claims to be {container} but reads as {info.format}")
    return info


@dataclass(frozen=True)
class MediaLimits:
    """What a source may claim to be. A header can claim anything (a million hours, 99999x99999 pixels,
    thousands of streams), and the work planned from it (part plans, frame buffers) grows with the claim,
    so a file beyond any limit is refused at upload and, should one get past that, fails in the worker
    before anything is planned. The size is bounded on the long and the short side, so portrait films get
    the same bound as landscape ones. Each limit is an environment variable (MEDIA_MAX_*)."""

    duration: float = 12 * 3600.0  # seconds: MEDIA_MAX_DURATION
    long_side: int = 7680  # pixels: MEDIA_MAX_SIZE=7680x4320 (long x short side)
    short_side: int = 4320
    fps: float = 240.0  # MEDIA_MAX_FPS
    streams: int = 64  # of any kind: MEDIA_MAX_STREAMS

    @classmethod
    def parse(
        cls, duration: str | None = None, size: str | None = None, fps: str | None = None, streams: str | None = None
    ) -> MediaLimits:
        """From the settings' text (None or empty: the default); ValueError names a malformed one."""
        default = cls()
        long_side, short_side = default.long_side, default.short_side
        if size:
            sides = size.lower().split("x")
            if len(sides) != 2 or not all(side.strip().isdigit() for side in sides):
                raise ValueError(f"MEDIA_MAX_SIZE must look like 7680x4320, not {size!r}")
            long_side, short_side = sorted((int(side) for side in sides), reverse=True)
        return cls(
            duration=float(duration) if duration else default.duration,
            long_side=long_side,
            short_side=short_side,
            fps=float(fps) if fps else default.fps,
            streams=int(streams) if streams else default.streams,
        )

    @classmethod
    def from_settings(cls, value: Callable[[str], str | None]) -> MediaLimits:
        """From the setting of each limit, `value(name)` for duration, size, fps and streams (the web tier reads
        the .ini's `videoflix.media_max_<name>`, the workers the environment's MEDIA_MAX_<NAME>)."""
        return cls.parse(**{name: value(name) for name in ("duration", "size", "fps", "streams")})

    def problem(self, info: MediaInfo) -> str | None:
        """Which limit the file is beyond, in words for the uploader; None when it is within all of them."""
        if info.duration is not None and info.duration > self.duration:
            return (
                f"The file says it lasts {_span(info.duration)}; "
                f"the limit is {_span(self.duration)} (MEDIA_MAX_DURATION)."
            )
        if info.width and info.height:
            long_side, short_side = max(info.width, info.height), min(info.width, info.height)
            if long_side > self.long_side or short_side > self.short_side:
                return (
                    f"The picture is {info.width}x{info.height} pixels; the limit is "
                    f"{self.long_side}x{self.short_side} (MEDIA_MAX_SIZE)."
                )
        if info.fps is not None and info.fps > self.fps:
            return f"The picture claims {info.fps:g} frames per second; the limit is {self.fps:g} (MEDIA_MAX_FPS)."
        if info.streams > self.streams:
            return f"The file has {info.streams} streams; the limit is {self.streams} (MEDIA_MAX_STREAMS)."
        return None

    def decode_cap(self, info: MediaInfo) -> float:
        """The most seconds of `info`'s source a decode may read: its stated length and a little slack, or,
        when it does not say (a live recording's `Duration: N/A`), the duration limit. A header can state
        less than the file holds (an MKV's Segment Duration patched to 5 s over 30 s of pictures): every
        decode stops at the cap, and a film that reaches it fails (`reached_cap`)."""
        stated = info.duration + DECODE_SLACK if info.duration else self.duration
        return min(stated, self.duration + DECODE_SLACK)


def reached_cap(info: MediaInfo, decoded: float | None) -> str | None:
    """Why a film whose decode got to `decoded` seconds fails (it reached its cap: it holds more than it
    says, or more than the limit), or None."""
    if info.decode_seconds is None or decoded is None or decoded < info.decode_seconds - DECODE_SLACK / 2:
        return None
    if info.duration:
        return (
            f"The file says it lasts {_span(info.duration)} but holds more: it was read to "
            f"{_span(info.decode_seconds)} and not processed further."
        )
    return (
        f"The file does not say how long it lasts, and it runs past {_span(info.decode_seconds)} (MEDIA_MAX_DURATION)."
    )


#: a decode may read this far past the stated length (containers round it; the last picture's own duration)
DECODE_SLACK = 2.0


def _span(seconds: float) -> str:
    """`1,000,000 h`, `12 h`, `2.5 s`: a length as an uploader reads it."""
    value, unit = (seconds / 3600, "h") if seconds >= 3600 else (seconds, "s")
    return f"{value:,.2f}".rstrip("0").rstrip(".") + f" {unit}"


@dataclass(frozen=True)
class Rung:
    name: str  # also the URL segment: /api/video/{id}/{name}/index.m3u8
    #: the picture's short side: its height when landscape, its width when portrait (a phone's 1080x1920
    #: video is "1080p"), so a rung has the same number of pixels either way
    short_side: int
    video_kbps: int


#: the renditions, lowest first (x264 veryfast: 1.0 / 2.8 / 5.0 Mbit/s)
LADDER = (Rung("480p", 480, 1000), Rung("720p", 720, 2800), Rung("1080p", 1080, 5000))
RESOLUTIONS = tuple(rung.name for rung in LADDER)


def ladder_for(short_side: int | None) -> list[Rung]:
    """The rungs at or below the source's short side (`MediaInfo.short_side`: never upscale). A source below
    the lowest rung still gets that rung, at its own size, so every video has something to play."""
    short_side = short_side or 0
    rungs = [r for r in LADDER if r.short_side <= short_side]
    if not rungs:
        lowest = LADDER[0]
        rungs = [Rung(lowest.name, max(2, short_side - short_side % 2), lowest.video_kbps)]
    return rungs


def video_dir(media_root: Path, video_id: int) -> Path:
    return media_root / "videos" / str(video_id)


def uploads_dir(media_root: Path) -> Path:
    return media_root / "uploads"
