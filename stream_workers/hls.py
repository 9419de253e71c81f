"""FFmpeg for HLS: build the one-pass command for the renditions (`media.ladder_for`), run it off the event loop.

One FFmpeg process per video decodes the source once, splits the picture, scales each branch and encodes
every rendition with keyframes forced at the same instants (every segment length), so the renditions'
segments line up for adaptive switching. The same graph grabs the thumbnail. Output per rendition:
`<name>/index.m3u8` + `<name>/NNN.ts`; plus `master.m3u8` and `thumbnail.jpg`.

The playlists are EVENT playlists while the job runs (progressive HLS: a player can start as soon as the
first segments exist, `first_segments_ready`) and become VOD playlists when it ends (`finalize_playlists`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from videoflix.core import storyboard as storyboards
from videoflix.core.media import AudioStream, MediaInfo, Rung, input_options
from videoflix.core.redaction import redact
from videoflix.core.subtitles import MAX_BYTES as SUBTITLE_MAX_BYTES

AUDIO_KBPS = 128
SEGMENT_SECONDS = 4
#: every HLS output's timestamps start here (`-output_ts_offset`), so none is ever negative: FFmpeg would
#: otherwise move each output by its own amount (a rendition by its B-frames' delay, an audio-only one by
#: the AAC priming) and an alternate audio track would lead the picture by ~60 ms (measured)
TS_OFFSET = 10.0
#: what FFmpeg's MPEG-TS muxer adds to the timestamps it is given: twice its `muxdelay` (0.7 s), so the TS
#: renditions start at TS_OFFSET + 1.4 s. An output in another container (the AV1 ladder's fMP4) is offset
#: by as much, so every variant of a film, and the subtitles' X-TIMESTAMP-MAP, keep one clock; joining a
#: chunked film's segment picture and sound (`chunked_encoding.mux_segment`: copied, timestamps kept) adds it
#: too, so its alternate audio tracks, served as the audio job writes them, start that much later (tested)
MPEGTS_DELAY = 1.4
THUMBNAIL_HEIGHT = 360


#: FFmpeg messages that blame the storage, not the file: such a failure is retried like any other fault
#: of the machine, and reported as what it is
STORAGE_FAULTS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "Input/output error")


class StorageError(OSError):
    """The output could not be written (disk full, read-only, I/O error). Transient: the job is retried."""


class SourceUnreadable(StorageError):
    """The stored upload stopped answering while FFmpeg read it (the store went away for longer than FFmpeg's
    reconnecting lasts). Transient like any storage fault: the job is retried."""


def source_read_failed(stderr: str) -> bool:
    """Whether reading the input broke off midway: a read error of the disk, or a stored object whose
    store did not come back while FFmpeg reconnected ("Will reconnect", then what was read short). FFmpeg
    then ends with status 0 and what it had decoded."""
    if "Error during demuxing: Input/output error" in stderr:
        return True
    return "Will reconnect at" in stderr and ("partial file" in stderr or "Error during demuxing" in stderr)


class TranscodeError(Exception):
    """FFmpeg could not make a playable output from this input: permanent, retrying will not help."""


class TranscodeTimeout(TranscodeError):
    pass


def thumbnail_time(info: MediaInfo) -> float:
    """A second in (past fades from black), or the middle of a shorter video. The thumbnail is the last frame
    at or before this time, and at least the first frame: a container may claim more time than its frames
    last (truncated files, a single frame), and the thumbnail must not depend on that claim."""
    return min(1.0, info.duration / 2) if info.duration else 0.0


def ladder_graph(
    info: MediaInfo,
    rungs: list[Rung],
    thumbnail: bool = True,
    storyboard: storyboards.Plan | None = None,
    label: str = "v",
) -> str:
    """The filter graph: the picture split into one scaled branch per rendition ([v0], [v1], ...: `label`
    and its place); with `thumbnail`, one for the thumbnail ([thumb]); with `storyboard`, one for the
    seek-bar previews' sheets ([sheets]): every output from one decode."""
    n = len(rungs)
    branches = "".join(f"[s{i}]" for i in range(n)) + "[st]" * thumbnail + "[ss]" * (storyboard is not None)
    graph = [f"[0:v]{picture_filters(info)}split={n + int(thumbnail) + int(storyboard is not None)}{branches}"]
    # each rendition by its short side: a portrait picture (a phone's) keeps its full width in the top rung
    size = (lambda r: f"{r.short_side}:-2") if info.portrait else (lambda r: f"-2:{r.short_side}")
    graph += [f"[s{i}]scale={size(r)}:flags=bicubic[{label}{i}]" for i, r in enumerate(rungs)]
    if thumbnail:
        graph.append(f"[st]select='lte(t,{thumbnail_time(info):.3f})+eq(n,0)',scale=-2:{THUMBNAIL_HEIGHT}[thumb]")
    if storyboard is not None:
        graph.append(storyboard.graph("ss", SHEETS))
    return ";".join(graph)


#: an interlaced source's frames made whole before anything is scaled (bwdif: FFmpeg's best CPU deinterlacer;
#: one frame per frame, so the frame rate stays; only frames flagged interlaced, so a progressive stretch of a
#: mixed broadcast is left alone). Scaling combed frames instead blurs the two fields into ghosts.
DEINTERLACE = "bwdif=mode=send_frame:parity=auto:deint=interlaced"


#: HDR (PQ or HLG, BT.2020) to SDR BT.709 8-bit, which every browser and screen shows: zscale to linear light
#: (100 nits as SDR white), BT.2020 to BT.709 primaries, `mobius` (linear up to half the peak, highlights
#: rolled off; hable darkened an SDR scene's mid-tones by ~30 %), back to BT.709's transfer. The frames then
#: carry BT.709, which the encoder writes into the stream (tested). Left as is, PQ reads washed out and grey.
TONE_MAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=mobius:param=0.5:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


#: non-square pixels resampled to square ones at the displayed width (after deinterlacing, which needs the
#: stored lines): every output, the JPEGs too, then shows the picture's own aspect
SQUARE_PIXELS = "scale=trunc(iw*sar/2)*2:ih:flags=bicubic,setsar=1"


def deinterlace(info: MediaInfo) -> str:
    """The deinterlacer for this source, or "": DEINTERLACE for one that declares its field order; for one
    found interlaced by its picture alone (`interlacing`), whose frames are not flagged, every frame, with
    the field order found."""
    if info.field_order in ("tff", "bff"):
        return f"bwdif=mode=send_frame:parity={info.field_order}:deint=all"
    return DEINTERLACE if info.interlaced else ""


def picture_filters(info: MediaInfo) -> str:
    """What every output of the picture needs first (the split's input), ending in a comma, or nothing. A
    variable-rate source is made constant (`fps`: frames repeated or dropped by their timestamps, so the
    length and the sync with the sound stay), as HLS players and encoders expect."""
    constant = f"fps={info.cfr_rate:g}" if info.cfr_rate else ""
    whole = deinterlace(info)
    needed = (
        (whole, bool(whole)), (TONE_MAP, bool(info.hdr)), (constant, bool(constant)),
        (SQUARE_PIXELS, info.anamorphic),
    )  # fmt: skip
    return "".join(f"{step}," for step, wanted in needed if wanted)


#: the filter graph's label of the storyboard's sheets
SHEETS = "sheets"


#: the per-title ladder's constant quality (x264's CRF) and its cap (a share of the fixed ladder's bitrate of
#: the rung), chosen on bench/quality.py's corpus: the fewest bytes at which no rendition of any title lost
#: over 1 VMAF point to the fixed ladder. CRF 19 lost 1.1-1.2 on the dark scene at 480p/720p (x264 gives dark
#: pictures few bits); 18 lost 0.7-0.8. Capped at 1.0x, the hard titles rode the cap at 1.03-1.11x the fixed
#: ladder's bytes for at most +0.6 VMAF; at 0.9x they take 0.93-1.02x for at most -0.43 (total: 19.7 % fewer
#: bytes than the fixed ladder at 1.0x, 25.5 % at 0.9x; 10 s titles)
PER_TITLE_CRF = 18.0
PER_TITLE_CAP = 0.9


def rate_options(index: int, rung: Rung, crf: float | None = None, cap: float = PER_TITLE_CAP) -> list[str]:
    """Rate control of the `index`-th video output stream. The fixed ladder: the rung's bitrate, whatever
    the film, peaks up to 1.07x. Per title (`crf`): capped CRF, the bitrate each film's pictures need at
    one constant quality, capped at `cap` of the fixed ladder's bitrate (the same buffer): a static or flat
    film takes a fraction, a hard one about what the fixed ladder gives it on average (x264's capped CRF
    rides the cap where ABR undershoots its target; capped at the fixed ladder's peak, hard titles took 1-14 %
    more bytes than the fixed ladder for the same VMAF: bench/quality.py). x264's CRF is one decision for
    the whole film, so a chunked film's parts, encoded apart, keep one quality across their joins."""
    buffer = [f"-bufsize:v:{index}", f"{int(rung.video_kbps * 1.5)}k"]
    if crf is not None:
        return [f"-crf:v:{index}", f"{crf:g}", f"-maxrate:v:{index}", f"{int(rung.video_kbps * cap)}k", *buffer]
    return [f"-b:v:{index}", f"{rung.video_kbps}k", f"-maxrate:v:{index}", f"{int(rung.video_kbps * 1.07)}k", *buffer]


def video_codec_options(preset: str) -> list[str]:
    """H.264 for every rendition, keyframes forced every segment length, so segments align across renditions
    (and, counted from a chunk's start, across chunks)."""
    return [
        "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", "-profile:v", "high",
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
    ]  # fmt: skip


AUDIO_OPTIONS = ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2", "-ar", "48000"]
THUMBNAIL_OUTPUT = ["-map", "[thumb]", "-update", "1", "-q:v", "3"]  # -update 1: each selected frame overwrites


#: seconds between FFmpeg's progress blocks: how soon a job sees its first segments (the film becomes
#: playable at the first block after them) and notices a deletion; 0.25 s (FFmpeg's default is 0.5 s) costs
#: a few lines of parsing a second
PROGRESS_PERIOD = 0.25


def ffmpeg_head(ffmpeg: str) -> list[str]:
    """How every job runs FFmpeg: quiet but for errors, progress as key=value blocks on stdout (ProgressParser)."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
            "-stats_period", str(PROGRESS_PERIOD)]  # fmt: skip


def build_command(
    ffmpeg: str,
    source: Path,
    output: Path,
    info: MediaInfo,
    rungs: list[Rung],
    preset: str = "veryfast",
    threads: int = 0,
    subtitles: Path | None = None,
    storyboard: storyboards.Plan | None = None,
    audio_filters: Mapping[int, str | None] | None = None,
    crf: float | None = None,
    cap: float = PER_TITLE_CAP,
) -> list[str]:
    """FFmpeg's command for the single pass: every rendition (`crf`: per-title rate control, `rate_options`),
    the thumbnail, the storyboard's sheets (with a `storyboard` plan), the source's other audio tracks
    (`alternate_audio_outputs`) and (into `subtitles`) its text subtitle streams as WebVTT, from one read
    and one decode of the source; `audio_filters[n]` (the loudness normalization of audio stream n) applied
    to that track."""
    filters = audio_filters or {}
    graph = ladder_graph(info, rungs, storyboard=storyboard) + sound_copies(info, filters, len(rungs), "a")
    argv = [
        *ffmpeg_head(ffmpeg),
        *input_options(source, info.container, length=info.decode_seconds),
        "-filter_complex",
        graph,
    ]
    stream_map = []
    for i, rung in enumerate(rungs):
        argv += ["-map", f"[v{i}]"]
        if info.has_audio:
            argv += ["-map", sound(info, filters, f"a{i}")]
        argv += rate_options(i, rung, crf, cap)
        stream_map.append(f"v:{i},a:{i},name:{rung.name}" if info.has_audio else f"v:{i},name:{rung.name}")
    argv += video_codec_options(preset)
    if threads:
        argv += ["-threads", str(threads)]
    if info.has_audio:
        argv += AUDIO_OPTIONS
    argv += [
        "-output_ts_offset", f"{TS_OFFSET:.3f}",
        "-f", "hls",
        "-hls_time", str(SEGMENT_SECONDS),
        # EVENT: the playlists grow as segments are done (the video is watchable while it transcodes);
        # temp_file: a segment or playlist appears under its name only once it is written whole
        "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(output / "%v" / "%03d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(stream_map),
        str(output / "%v" / "index.m3u8"),
    ]  # fmt: skip
    argv += [*THUMBNAIL_OUTPUT, str(output / "thumbnail.jpg")]
    if storyboard is not None:
        argv += storyboard.outputs(SHEETS, str(output))
    offset = ["-output_ts_offset", f"{TS_OFFSET:.3f}"]
    return argv + alternate_audio_outputs(info, output, filters, offset) + subtitle_outputs(info, subtitles)


def sound_copies(info: MediaInfo, filters: Mapping[int, str | None], n: int, label: str) -> str:
    """The filter graph's part for the film's default sound when it needs a filter (its loudness
    normalization, `filters`): filtered once, then one copy for each of `n` renditions ([a0], [a1], ...:
    `label` and its place); nothing when the renditions take the source's track as it is."""
    level = filters.get(info.default_audio)
    if not (info.has_audio and level):
        return ""
    return f";[0:a:{info.default_audio}]{level},asplit={n}" + "".join(f"[{label}{i}]" for i in range(n))


def sound(info: MediaInfo, filters: Mapping[int, str | None], label: str) -> str:
    """What an output maps for the film's default sound: the graph's copy `label` of the normalized sound
    (`build_command`), or the source's track as it is when it needs no filter."""
    return f"[{label}]" if filters.get(info.default_audio) else f"0:a:{info.default_audio}"


#: the folder of the alternate audio tracks' playlists (`audio/<n>/`, n: the stream's place among the audio
#: streams), and what stream_workers.audio_tracks names in the master
AUDIO_FOLDER = "audio"


def audio_folder(stream: AudioStream) -> str:
    """The output folder of an alternate audio track (relative to the film's output)."""
    return f"{AUDIO_FOLDER}/{stream.index}"


def alternate_audio_outputs(
    info: MediaInfo, output: Path, filters: Mapping[int, str | None], hls_options: list[str] | None = None
) -> list[str]:
    """Extra outputs of a job's FFmpeg run: the source's other audio tracks (`MediaInfo.alternate_audio`),
    one audio-only HLS output each (`audio/<n>/`, made beforehand: `audio_tracks.prepare`), stereo AAC as
    the muxed track is, cut every segment length. `filters[n]`: track n's filter (its loudness
    normalization), applied to that output alone; `hls_options`: what else the caller's HLS outputs have
    (the chunked audio job's timestamp offset), so every track keeps the same clock."""
    argv: list[str] = []
    for stream in info.alternate_audio:
        target = output / audio_folder(stream)
        level = filters.get(stream.index)
        argv += [
            "-map", f"0:a:{stream.index}", *(["-af", level] if level else []), *AUDIO_OPTIONS, *(hls_options or []),
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "event",
            "-hls_flags", "independent_segments+temp_file",
            "-hls_segment_filename", str(target / "%03d.ts"), str(target / "index.m3u8"),
        ]  # fmt: skip
    return argv


def subtitle_outputs(info: MediaInfo, folder: Path | None) -> list[str]:
    """Extra outputs of a job's FFmpeg run: each text subtitle stream of the source as `<folder>/<n>.vtt`
    (n: its place among the subtitle streams). Converting text subtitles costs nothing next to the video;
    a second FFmpeg run would read the whole source again."""
    if folder is None:
        return []
    argv: list[str] = []
    for stream in info.subtitles:
        if stream.text:
            argv += [
                "-map",
                f"0:s:{stream.index}",
                "-c:s",
                "webvtt",
                "-f",
                "webvtt",
                "-fs",  # FFmpeg stops writing it past the bound (a source can carry a track of any size)
                str(SUBTITLE_MAX_BYTES + 1),
                str(folder / f"{stream.index}.vtt"),
            ]
    return argv


class ProgressParser:
    """Turns FFmpeg's `-progress` key=value blocks into seconds of output written."""

    def __init__(self):
        self.out_seconds = 0.0
        self.speed: float | None = None
        self.finished = False

    def feed(self, line: str) -> bool:
        """Consume one line; True at the end of a block (a fresh figure is available)."""
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            self.out_seconds = max(self.out_seconds, int(value) / 1_000_000)
        elif key == "speed" and value.endswith("x"):
            with contextlib.suppress(ValueError):
                self.speed = float(value[:-1])
        elif key == "progress":
            self.finished = value == "end"
            return True
        return False

    def percent(self, duration: float | None) -> float:
        """The share of a film of `duration` seconds written so far, below 100 until the job is done (0 when
        the length is unknown)."""
        return min(99.0, 100.0 * self.out_seconds / duration) if duration else 0.0

    def eta(self, duration: float | None) -> float | None:
        """Seconds to the end of a film of `duration` seconds at FFmpeg's speed, when both are known."""
        if not (self.speed and duration):
            return None
        return round(max(0.0, duration - self.out_seconds) / self.speed, 1)


@dataclass
class RunResult:
    out_seconds: float
    stderr: str
    wall_seconds: float


async def run_ffmpeg(
    argv: list[str],
    on_progress: Callable[[ProgressParser], Awaitable[None]] | None = None,
    timeout: float = 3600.0,
    stall_timeout: float = 120.0,
    niceness: int = 0,
) -> RunResult:
    """Run FFmpeg as an asyncio subprocess (the event loop stays free), reporting progress; kill it if it
    runs past `timeout` or prints no progress for `stall_timeout` seconds (a hung decoder). `niceness`: a
    lower CPU priority for a job that must yield to another (set right after it starts: no `preexec_fn`,
    which is unsafe in a process with threads)."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    if niceness:
        with contextlib.suppress(OSError):  # (it may already have ended)
            os.setpriority(os.PRIO_PROCESS, proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
    parser = ProgressParser()
    stderr_tail = bytearray()

    async def read_progress() -> None:
        while line := await asyncio.wait_for(proc.stdout.readline(), stall_timeout):
            if parser.feed(line.decode("ascii", "replace")) and on_progress is not None:
                await on_progress(parser)

    async def read_stderr() -> None:
        while chunk := await proc.stderr.read(65536):
            stderr_tail.extend(chunk)
            del stderr_tail[:-16384]

    errors = asyncio.ensure_future(read_stderr())
    try:
        await asyncio.wait_for(read_progress(), timeout)
        await asyncio.wait_for(proc.wait(), stall_timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        limit = "no progress for" if time.monotonic() - started < timeout else "the time limit of"
        seconds = stall_timeout if limit == "no progress for" else timeout
        raise TranscodeTimeout(f"Processing was stopped: FFmpeg made {limit} {seconds:.0f} s.") from None
    except BaseException:  # cancelled (the worker stops), or on_progress gave up on the job
        proc.kill()
        await proc.wait()
        raise
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(errors, 5)
    stderr = stderr_tail.decode("utf-8", "replace")
    if source_read_failed(stderr):  # never an output cut short of what the source holds
        raise SourceUnreadable(f"The stored upload could not be read to its end. FFmpeg said: {summarize(stderr)}")
    if proc.returncode != 0:
        if storage := storage_error(stderr):
            raise storage
        raise TranscodeError(
            "The video could not be decoded; the file may be damaged or use an unsupported codec. "
            f"FFmpeg said: {summarize(stderr)}"
        )
    return RunResult(parser.out_seconds, stderr, time.monotonic() - started)


def storage_error(stderr: str) -> StorageError | None:
    """The error to raise when FFmpeg's messages blame the storage (STORAGE_FAULTS), else None."""
    fault = next((f for f in STORAGE_FAULTS if f in stderr), None)
    if fault is None:
        return None
    return StorageError(f"The output could not be written: {fault.lower()}. FFmpeg said: {summarize(stderr)}")


def summarize(stderr: str) -> str:
    """The most telling FFmpeg error lines, short enough for an operator's status page, and with no server
    path, host or signed URL: a file is named by its last part only (`source.mp4`, `012.ts`; `redact`)."""
    lines = [redact(line.strip()) for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if any(w in line.lower() for w in ("invalid", "error", "could not", "failed"))]
    chosen = (telling or lines)[-3:]
    return "; ".join(chosen)[:500] or "exit status without a message"


def playlist_segments(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


#: a media playlist's init segment (fMP4: the AV1 ladder's)
_MAP = re.compile(r'^#EXT-X-MAP:URI="([^"]+)"', re.MULTILINE)
#: what each kind of file a playlist names is, to the store and the browsers
MEDIA_TYPES = {".ts": "video/MP2T", ".m4s": "video/iso.segment", ".mp4": "video/mp4"}


def init_segment(playlist: str) -> str | None:
    """The init segment a media playlist's text names (`#EXT-X-MAP`: fMP4), or None (MPEG-TS)."""
    return found.group(1) if (found := _MAP.search(playlist)) else None


def media_files(playlist: str) -> list[str]:
    """The files a media playlist's text names: its init segment (fMP4), then its segments."""
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    init = init_segment(playlist)
    return [init, *segments] if init else segments


def check_storage(folder: Path, size: int = 1 << 20) -> None:
    """StorageError if `size` bytes cannot be written in `folder` (disk full, quota, read-only). FFmpeg's HLS
    muxer can end with status 0 and no message when its writes fail, leaving an incomplete output that
    would otherwise be blamed on the file."""
    probe_file = folder / ".storage-check"
    try:
        with probe_file.open("wb") as out:
            out.write(b"\0" * size)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise StorageError(f"The output could not be written: {(exc.strerror or str(exc)).lower()}.") from exc
    finally:
        with contextlib.suppress(OSError):
            probe_file.unlink()


def playlist_folders(rungs: list[Rung], also: Sequence[str] = ()) -> list[str]:
    """The folders of an output that hold a media playlist: each rendition's, then those of `also` (the
    alternate audio tracks')."""
    return [*(rung.name for rung in rungs), *also]


def check_output(output: Path, rungs: list[Rung], also: Sequence[str] = (), thumbnail: bool = True) -> None:
    """A job only counts when every rendition (and each other playlist folder `also`: the alternate audio
    tracks) has a complete playlist with segments, and there is a `thumbnail` (the AV1 pass makes none)."""
    if not (output / "master.m3u8").is_file():
        raise TranscodeError("FFmpeg wrote no master playlist: the video could not be decoded.")
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        text = playlist.read_text() if playlist.is_file() else ""
        if "#EXT-X-ENDLIST" not in text:
            raise TranscodeError(f"The {name} rendition is incomplete: the video could not be decoded.")
        named = media_files(text)  # (an fMP4 playlist's init segment first)
        segments = len(named) - (init_segment(text) is not None)
        if not segments or not all((playlist.parent / s).is_file() for s in named):
            raise TranscodeError(f"The {name} rendition has no segments: the video could not be decoded.")
    thumb = output / "thumbnail.jpg"
    if thumbnail and (not thumb.is_file() or thumb.read_bytes()[:3] != b"\xff\xd8\xff"):
        raise TranscodeError("No thumbnail could be made: the video could not be decoded.")


def first_segments_ready(output: Path, rungs: list[Rung], also: Sequence[str] = ()) -> bool:
    """Whether a player can start: the master playlist and, in every rendition's playlist (and each other
    one of `also`: the alternate audio tracks), a first segment that is on disk (FFmpeg publishes both only
    when written whole; one pass makes the renditions in step, so the lowest one's first segment comes with
    the others')."""
    if not (output / "master.m3u8").is_file():
        return False
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        try:
            segments = playlist_segments(playlist)
        except FileNotFoundError:
            return False
        if not segments or not (playlist.parent / segments[0]).is_file():
            return False
    return True


def published_seconds(output: Path, rungs: list[Rung]) -> dict[str, float]:
    """Per rendition, the media seconds its playlist lists so far (segments written whole)."""
    seconds = {}
    for rung in rungs:
        try:
            text = (output / rung.name / "index.m3u8").read_text()
        except FileNotFoundError:
            text = ""
        seconds[rung.name] = sum(float(m) for m in re.findall(r"^#EXTINF:([\d.]+)", text, re.MULTILINE))
    return seconds


#: players treat a playlist without an end as live and would start near its newest segment; a film still
#: transcoding should start at its beginning (hls.js and Safari honour EXT-X-START in the master playlist).
#: Only while the playlists grow: FFmpeg's HLS client cannot read a master playlist with it, and a VOD
#: playlist starts at the beginning anyway.
START_AT_BEGINNING = "#EXT-X-START:TIME-OFFSET=0,PRECISE=YES"


def start_at_beginning(output: Path) -> None:
    """Add START_AT_BEGINNING to the master playlist (FFmpeg writes it once, with the first segments)."""
    master = output / "master.m3u8"
    lines = master.read_text("utf-8").splitlines()
    if START_AT_BEGINNING not in lines:
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("#EXT-X-VERSION")), 1)
        write_atomically(master, "\n".join([*lines[:at], START_AT_BEGINNING, *lines[at:]]) + "\n")


def finalize_playlists(output: Path, rungs: list[Rung], also: Sequence[str] = ()) -> None:
    """EVENT -> VOD once every segment is there (check_output first), in the renditions and the other
    playlist folders `also`; the master without START_AT_BEGINNING."""
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        write_atomically(playlist, vod(playlist.read_text()))
    master = output / "master.m3u8"
    lines = master.read_text("utf-8").splitlines()
    if START_AT_BEGINNING in lines:
        write_atomically(master, "\n".join(line for line in lines if line != START_AT_BEGINNING) + "\n")


def vod(playlist: str) -> str:
    """A whole EVENT media playlist as the VOD one it has become (players may then cache and seek freely)."""
    return playlist.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD")


def write_atomically(path: Path, text: str) -> None:
    """Write or replace a file atomically: a player reading it meanwhile sees the old or the new one, whole.
    Each write has its own partial file, so writers on several machines never mix their bytes."""
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.new")
    partial.write_text(text, "utf-8")  # (a master may name a track "Français")
    os.replace(partial, path)


def master_renditions(output: Path, rungs: list[Rung]) -> list[dict]:
    """Name, size and bandwidth of each rendition, read back from the master playlist FFmpeg wrote."""
    return renditions_in((output / "master.m3u8").read_text("utf-8"), rungs)


def average_bandwidths(master: str) -> dict[str, int]:
    """Per variant of the master playlist `master` (by its URI's first folder), its average bitrate
    (AVERAGE-BANDWIDTH, else its peak BANDWIDTH)."""
    found = {}
    for info, uri in itertools.pairwise(master.splitlines()):
        if info.startswith("#EXT-X-STREAM-INF:"):
            rate = re.search(r"AVERAGE-BANDWIDTH=(\d+)", info) or re.search(r"[^-]BANDWIDTH=(\d+)", info)
            if rate:
                found[uri.split("/")[0]] = int(rate.group(1))
    return found


def renditions_in(master: str, rungs: list[Rung]) -> list[dict]:
    """Name, size and bandwidth of each rendition, as the master playlist `master` lists them."""
    entries = {}
    for info, uri in itertools.pairwise(master.splitlines()):
        if info.startswith("#EXT-X-STREAM-INF:"):
            size = re.search(r"RESOLUTION=(\d+)x(\d+)", info)
            bandwidth = re.search(r"[^-]BANDWIDTH=(\d+)", info)
            entries[uri.split("/")[0]] = {
                "width": int(size.group(1)) if size else None,
                "height": int(size.group(2)) if size else None,
                "bandwidth": int(bandwidth.group(1)) if bandwidth else None,
            }
    return [{"name": r.name, **entries.get(r.name, {"height": r.short_side})} for r in rungs]
