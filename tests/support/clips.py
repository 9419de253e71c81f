"""Short media files made with the real FFmpeg (lavfi test sources): what tests upload and transcode."""

from __future__ import annotations

import itertools
import re
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

from stream_workers import loudness
from videoflix.core.containers import ffmpeg_exe


def ffmpeg(*args: str, timeout: float = 120) -> None:
    """Run the project's FFmpeg quietly (errors only), overwriting outputs; raise if it fails."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=timeout)


def make_clip(
    path: Path,
    seconds: float = 2.0,
    size: str = "640x360",
    rate: int = 25,
    audio: bool = True,
    extra: list[str] | None = None,
    preset: str = "ultrafast",
    audio_delay: float = 0.0,
    picture_seconds: float | None = None,
    languages: tuple[str, ...] = (),
    scene: str | None = None,
) -> Path:
    """An H.264/AAC MP4 of `testsrc2` (moving picture; `scene`: another lavfi graph, of `{size}` at `{rate}`,
    e.g. CALM) and a sine tone, moov at the front; `audio_delay`: the
    sound starts that many seconds after the picture (as in files cut from a longer recording);
    `picture_seconds`: the picture ends there while the sound runs on to `seconds`; `languages` (ISO 639-2):
    the tone's language (its default track), and one more audio track per further language, a higher and
    quieter tone each, as a release with dubs has."""
    picture = f":duration={picture_seconds}" if picture_seconds else ""
    source = (scene or "testsrc2=size={size}:rate={rate}").format(size=size, rate=rate)
    argv = ["-f", "lavfi", "-i", f"{source}{picture}"]
    if audio:
        argv += ["-itsoffset", str(audio_delay)] * bool(audio_delay)
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        for n in range(1, len(languages)):
            argv += ["-f", "lavfi", "-i", f"sine=frequency={440 * (n + 1)}:sample_rate=48000,volume=-12dB"]
    argv += ["-t", str(seconds), "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
    if audio and languages:
        argv += [arg for n in range(len(languages) + 1) for arg in ("-map", str(n))]
        for n, language in enumerate(languages):
            argv += [f"-metadata:s:a:{n}", f"language={language}", f"-disposition:a:{n}", "default" if n == 0 else "0"]
    if audio:
        argv += ["-c:a", "aac"] + ["-shortest"] * (picture_seconds is None)
    ffmpeg(*argv, *(extra or []), "-movflags", "+faststart", str(path), timeout=max(120.0, 2.0 * seconds))
    return path


ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:01.80,Default,,0,0,0,,{\\i1}Bonjour{\\i0} le monde
""".replace("\\\n", "")


#: a calm picture for `make_clip(scene=…)` (a lavfi graph of {size} at {rate}): a shape moving slowly before
#: a plain backdrop (vignetted, a fixed grain), as a talking head; far easier to encode than testsrc2's
#: moving pattern, which rides every ladder's bitrate cap. Deterministic (lavfi's `gradients` is not, even
#: with a seed)
CALM = (
    "color=c=#4a6078:size={size}:rate={rate},vignette=PI/5,noise=alls=3:allf=u,"
    "drawbox=x='iw/2+40*sin(t*1.3)':y='ih/3+20*sin(t*0.7)':w=iw/10:h=ih/4:color=#c08060:t=fill"
)


#: a busy picture for `make_clip(scene=…)` (1080p only): testsrc2's pattern panning fast across a larger
#: canvas, as bench/quality.py's high motion title: at 1080p SVT-AV1 (preset 6, at 0.75x the fixed bitrate)
#: loses ~1.5 VMAF points to x264 on this short, already coarse (ultrafast) clip, so its AV1 ladder is not
#: listed (measured: 480p +0.9, 720p -0.3, 1080p -1.5)
#: a zoom into the Mandelbrot set: fine detail everywhere, moving, which no encoder keeps at a low rate (VMAF
#: falls steadily with the CRF, where testsrc2's flat pattern scores over 99 at any)
ZOOM = "mandelbrot=size={size}:rate={rate}"
RUSH = "testsrc2=size=2880x1620:rate={rate},crop=1920:1080:x='(1+sin(t*2))*480':y='(1+cos(t*1.7))*270'"


def make_subtitled(path: Path, source: Path, container: str = "mkv") -> Path:
    """`source` with subtitle streams as cameras and editing suites write them. MKV: SubRip tagged German,
    ASS tagged French with a title, WebVTT tagged English, and a second German one; MP4: mov_text (English)."""
    folder = path.parent
    (folder / "de.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\nHallo <b>Welt</b>\n")
    (folder / "fr.ass").write_text(ASS)
    (folder / "en.vtt").write_text("WEBVTT\n\n00:00:00.200 --> 00:00:00.900\nHello\n")
    (folder / "de2.srt").write_text("1\n00:00:01,000 --> 00:00:01,200\nZweite\n")
    if container == "mp4":
        inputs, codecs, tags = ["en.vtt"], ["-c:s", "mov_text"], ["-metadata:s:s:0", "language=eng"]
    else:
        inputs = ["de.srt", "fr.ass", "en.vtt", "de2.srt"]
        codecs = ["-c:s:0", "srt", "-c:s:1", "ass", "-c:s:2", "webvtt", "-c:s:3", "srt"]
        tags = ["-metadata:s:s:0", "language=ger", "-metadata:s:s:1", "language=fre",
                "-metadata:s:s:1", "title=Français (forcé)", "-metadata:s:s:2", "language=eng",
                "-metadata:s:s:3", "language=ger"]  # fmt: skip
    argv = ["-i", str(source)]
    for name in inputs:
        argv += ["-i", str(folder / name)]
    for i in range(len(inputs) + 1):
        argv += ["-map", str(i)]
    ffmpeg(*argv, "-c:v", "copy", "-c:a", "copy", *codecs, *tags, str(path))
    return path


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds), "-c:a", "aac", str(path), timeout=60)
    return path


def understated(path: Path, seconds: float) -> Path:
    """The MKV at `path` with its Segment Duration (EBML 0x4489, milliseconds as a float) patched to `seconds`:
    a header that says the file is shorter than it is."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89")
    size = data[at + 2] & 0x7F
    data[at + 3 : at + 3 + size] = struct.pack(">d" if size == 8 else ">f", seconds * 1000)
    path.write_bytes(bytes(data))
    return path


def make_corrupt(path: Path, source: Path) -> Path:
    """A file with an intact MP4 header (it passes the upload checks) whose frames are garbage."""
    data = bytearray(source.read_bytes())
    mdat = data.find(b"mdat")
    for i in range(mdat + 8, len(data)):
        data[i] = (data[i] * 73 + 41) & 0xFF
    path.write_bytes(bytes(data))
    return path


def video_timestamps(playlist) -> list[int]:
    """The presentation timestamps (in frames) of every decoded video frame, as FFmpeg's HLS client reads them."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(playlist), "-map", "0:v:0",
         "-fps_mode", "passthrough", "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [int(line.split(",")[2]) for line in result.stdout.splitlines() if line and not line.startswith("#")]


def audio_samples(path) -> int:
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le",
         "-ac", "1", "-ar", "48000", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return len(result.stdout) // 2


def audio_gaps(playlist) -> list[float]:
    """Seconds between the end of each decoded audio frame and the start of the next where they differ (a gap
    > 0, an overlap < 0), as FFmpeg's HLS client reads them: [] for sound that runs on without a break."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(playlist), "-map", "0:a:0", "-ar", "48000",
         "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = [line.split(",") for line in result.stdout.splitlines() if line and not line.startswith("#")]
    frames = [(int(row[2]), int(row[3])) for row in rows]  # (start, samples) at 48 kHz
    return [(b[0] - a[0] - a[1]) / 48000 for a, b in itertools.pairwise(frames) if a[0] + a[1] != b[0]]


def joined(playlist: Path) -> str:
    """A playlist's segments as one input for FFmpeg (`concat:`), in order. FFmpeg's HLS client gives an
    audio-only playlist's first two frames one timestamp (its segments read whole do not: measured), so a
    gap check of an audio-only rendition reads it so."""
    names = [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]
    return "concat:" + "|".join(str(playlist.parent / name) for name in names)


def stream_starts(segment: Path) -> dict[str, float]:
    """The timestamp (seconds, as muxed) of each stream's first packet in a segment: {"video": ..., "audio": ...}."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-copyts", "-i", str(segment), "-c", "copy",
         "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    kinds = dict(re.findall(r"^#media_type (\d+): (\w+)", result.stdout, re.M))
    bases = {k: Fraction(v) for k, v in re.findall(r"^#tb (\d+): (\d+/\d+)", result.stdout, re.M)}
    starts: dict[str, float] = {}
    for line in result.stdout.splitlines():
        if line and not line.startswith("#"):
            index, _, pts = (field.strip() for field in line.split(",")[:3])
            starts.setdefault(kinds[index], float(int(pts) * bases[index]))
    return starts


def stream_ends(playlist) -> tuple[float, float]:
    """(picture, sound): where each stream's last decoded frame ends, in seconds, as a player reads them."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(playlist), "-map", "0:v:0", "-map", "0:a:0",
         "-fps_mode", "passthrough", "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    bases = {k: Fraction(v) for k, v in re.findall(r"^#tb (\d+): (\d+/\d+)", result.stdout, re.M)}
    ends = {"0": 0.0, "1": 0.0}
    for line in result.stdout.splitlines():
        if line and not line.startswith("#"):
            index, _, pts, duration = (field.strip() for field in line.split(",")[:4])
            ends[index] = max(ends[index], float((int(pts) + int(duration)) * bases[index]))
    return ends["0"], ends["1"]


def sound_onset(path) -> float:
    """Seconds from the first picture to the first sound heard (the end of any silence the audio starts with):
    where a tone that starts late is heard, on the picture's timeline."""
    graph = (
        "[0:v:0]trim=end_frame=1,showinfo[v];[0:a:0]asplit[a0][a1];[a0]atrim=end_sample=1,ashowinfo[a];"
        "[a1]silencedetect=n=-30dB:d=0.05[s]"
    )
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-copyts", "-i", str(path), "-filter_complex", graph,
         *itertools.chain.from_iterable(("-map", f"[{label}]") for label in "vas"), "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    picture = float(re.search(r"Parsed_showinfo.*?pts_time:\s*([\d.]+)", result.stderr).group(1))
    sound = float(re.search(r"Parsed_ashowinfo.*?pts_time:\s*([\d.]+)", result.stderr).group(1))
    silence = re.search(r"silence_start: ([\d.]+)\n.*?silence_end: ([\d.]+)", result.stderr, re.S)
    if silence and float(silence.group(1)) <= sound + 0.05:  # the audio starts with silence
        sound = float(silence.group(2))
    return sound - picture


def heard(playlist: Path | str) -> loudness.Loudness:
    """The loudness of a rendition as a player hears it (FFmpeg's HLS client)."""
    meter = ["-vn", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    said = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(playlist), *meter],
                          capture_output=True, text=True)  # fmt: skip
    measured = loudness.parse(said.stderr)
    assert measured is not None, said.stderr[-2000:]
    return measured


def phone_like(path: Path, seconds: float = 12.0, step_at: float | None = None) -> Path:
    """A grainy clip as a phone writes it: its picture starts after its sound (37 ms), a frame dropped now and
    then, 30 fps that turns into 20 fps at 5.7 s, each picture's time a few ms off the beat; temporal grain,
    so that a picture paired with its neighbour reads as another picture. `step_at`: a dim picture turns
    white from that time on (of the picture's own clock) and silence turns into a tone at the same instant
    of the film (`picture_and_sound_step` finds both)."""
    frames = "select='not(eq(mod(n\\,13)\\,7))'"
    times = "setpts='(if(lt(N\\,170)\\,N/30\\,170/30+(N-170)/20)+0.009*sin(N*1.7))/TB'"
    picture = f"testsrc2=size=640x360:rate=30:duration={seconds},noise=alls=22:allf=t+u,{frames},{times}"
    sound = f"sine=frequency=440:duration={seconds}"
    if step_at is not None:
        picture = picture.replace(",noise=", ",eq=brightness=-0.35,noise=", 1)
        picture += f",drawbox=c=white:t=fill:enable='gte(t,{step_at})'"
        sound = f"aevalsrc='if(gte(t,{step_at + 0.037}),0.5*sin(2*PI*440*t),0)':s=48000:d={seconds}"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-pix_fmt", "yuv420p"]
    ffmpeg("-itsoffset", "0.037", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", sound, "-fps_mode", "vfr",
           *x264, "-c:a", "aac", str(path))  # fmt: skip
    return path


def picture_and_sound_step(path) -> tuple[float, float]:
    """(picture, sound): when the first white picture shows and when the tone starts (`phone_like`'s
    `step_at`), in seconds of the file's own clock (an HLS rendition's as muxed)."""
    graph = (
        "[0:v:0]signalstats,metadata=select:key=lavfi.signalstats.YAVG:value=200:function=greater,showinfo[v];"
        "[0:a:0]silencedetect=n=-30dB:d=0.05[a]"
    )
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-copyts", "-i", str(path), "-filter_complex", graph, "-map", "[v]",
         "-map", "[a]", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    picture = float(re.search(r"Parsed_showinfo.*?pts_time:\s*([\d.]+)", result.stderr).group(1))
    return picture, float(re.search(r"silence_end: ([\d.]+)", result.stderr).group(1))
