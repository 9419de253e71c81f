"""The AV1 ladder: the same rungs again in AV1 (SVT-AV1), for the browsers that decode it, beside the H.264 one.

Made by the single pass's FFmpeg run from the same scaled pictures and the same normalized sound
(`hls.build_command(av1=True)` splits them; `outputs` adds a second HLS output), as CMAF: fMP4 segments
(`av1/<rung>/NNN.m4s`) after an init segment (`#EXT-X-MAP`), the default sound muxed in as in the H.264
renditions. The master lists the AV1 variants (with their `CODECS`, av01...) only once the film is whole
(`add_variants`), beside the H.264 ones: hls.js drops the variants whose codecs the browser cannot decode
(`MediaSource.isTypeSupported`) and, of the sets left, starts with the codec it ranks first (AV1 before
H.264). The rendition playlists the existing frontend plays (`<rung>/index.m3u8`) stay H.264 in TS.

Rate control as the per-title H.264 ladder's: one constant quality (CRF) capped per rung; the cap is a
share of the H.264 rung's bitrate (AV1 needs fewer bits for the same picture, so a hard film that rides
the cap still gets the same quality in fewer bytes). Chosen on bench/quality.py's corpus.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path

from videoflix.media import MediaInfo, Rung

from . import hls

#: the AV1 ladder's folder in an output (`av1/<rung>/`)
FOLDER = "av1"
#: SVT-AV1's speed (0 slowest .. 13): 10 cost about what x264's veryfast does on these 2-core machines
PRESET = 10
#: the constant quality: the AV1 renditions' VMAF matched the per-title H.264 ones' (bench/quality.py)
CRF = 34
#: the cap, as a share of the H.264 rung's bitrate
CAP = 0.6
#: the AV1 variants' own master playlist, merged into the film's (`add_variants`)
MASTER = f"{FOLDER}/master.m3u8"


def folders(rungs: list[Rung]) -> list[str]:
    """The AV1 ladder's playlist folders in an output, one per rung."""
    return [f"{FOLDER}/{rung.name}" for rung in rungs]


def prepare(output: Path, rungs: list[Rung]) -> None:
    """Make the folders FFmpeg writes the AV1 renditions into (its HLS muxer makes none)."""
    for name in folders(rungs):
        (output / name).mkdir(parents=True, exist_ok=True)


def outputs(
    output: Path,
    info: MediaInfo,
    rungs: list[Rung],
    filters: Mapping[int, str | None],
    crf: int = CRF,
    cap: float = CAP,
) -> list[str]:
    """FFmpeg's extra output for the AV1 ladder, for a command made by `hls.build_command(av1=True)`: the
    graph's pictures [w0], [w1], ... and the film's sound as the H.264 renditions have it (`filters`: the
    loudness normalization, `hls.sound`); keyframes forced where the H.264 ladder's are, so a segment is
    SEGMENT_SECONDS long in both."""
    sound = [hls.sound(info, filters, f"b{i}") for i in range(len(rungs))] if info.has_audio else None
    argv: list[str] = []
    stream_map = []
    for i, rung in enumerate(rungs):
        argv += ["-map", f"[w{i}]", *(["-map", sound[i]] if sound else [])]
        kbps = int(rung.video_kbps * cap)
        argv += [f"-crf:v:{i}", str(crf), f"-maxrate:v:{i}", f"{kbps}k", f"-bufsize:v:{i}", f"{int(kbps * 1.5)}k"]
        stream_map.append(f"v:{i},a:{i},name:{rung.name}" if sound else f"v:{i},name:{rung.name}")
    argv += [
        "-c:v", "libsvtav1", "-preset", str(PRESET), "-pix_fmt", "yuv420p",
        # SVT-AV1 honours forced keyframes only when asked to; its own scene cuts would add keyframes
        "-svtav1-params", "force-key-frames=1:scd=0",
        "-force_key_frames", f"expr:gte(t,n_forced*{hls.SEGMENT_SECONDS})",
        *(hls.AUDIO_OPTIONS if sound else []),
        "-output_ts_offset", f"{hls.TS_OFFSET:.3f}",
        "-f", "hls", "-hls_time", str(hls.SEGMENT_SECONDS), "-hls_playlist_type", "event",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(output / FOLDER / "%v" / "%03d.m4s"),
        "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(stream_map),
        str(output / FOLDER / "%v" / "index.m3u8"),
    ]  # fmt: skip
    return argv


def with_variants(master: str, variants: str) -> str:
    """The film's master playlist `master` with the AV1 variants of `variants` (the AV1 output's own master)
    after its H.264 ones, their URIs made relative to the film's folder; applied once."""
    if f"\n{FOLDER}/" in master:
        return master
    lines = variants.splitlines()
    added = []
    for info, uri in itertools.pairwise(lines):
        if info.startswith("#EXT-X-STREAM-INF:") and uri and not uri.startswith("#"):
            added += [info, f"{FOLDER}/{uri}"]
    return master.rstrip("\n") + "\n" + "\n".join(added) + "\n" if added else master


def add_variants(output: Path) -> None:
    """List the finished AV1 ladder in the film's master playlist in `output` (`with_variants`), atomically."""
    master = output / "master.m3u8"
    text = master.read_text("utf-8")
    if (merged := with_variants(text, (output / MASTER).read_text("utf-8"))) != text:
        hls.write_atomically(master, merged)


#: an AV1 variant's line in a master playlist
_VARIANT = re.compile(r'^#EXT-X-STREAM-INF:.*CODECS="av01', re.MULTILINE)


def variants_in(master: str) -> int:
    """How many AV1 variants the master playlist `master` lists."""
    return len(_VARIANT.findall(master))
