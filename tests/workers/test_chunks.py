"""Chunked transcoding (stream_workers/chunks.py) on a real clip: chunks encoded separately, in any order,
join into one output that FFmpeg's HLS client decodes end to end with every source frame once, no timestamp
jump at a chunk boundary, 4 s segments, and the whole audio once."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from stream_workers import chunks, hls
from videoflix.media import ffmpeg_exe, probe

from ..clips import audio_samples, make_clip, video_timestamps


def test_plan_cuts_at_fixed_times():
    assert chunks.plan_chunks(130) == [chunks.Chunk(0, 0.0, 60), chunks.Chunk(1, 60.0, 60), chunks.Chunk(2, 120.0, 10)]
    assert [c.length for c in chunks.plan_chunks(120)] == [60, 60]
    assert [c.first_segment for c in chunks.plan_chunks(130)] == [0, 15, 30]
    assert chunks.plan_chunks(3.5) == [chunks.Chunk(0, 0.0, 3.5)]
    with pytest.raises(ValueError, match="whole number"):
        chunks.plan_chunks(100, chunk_seconds=30)


def test_chunks_encoded_apart_join_without_a_seam(tmp_path):
    source = make_clip(tmp_path / "film.mp4", seconds=22, size="640x360", rate=30)
    info = probe(source)
    rungs = hls.plan(info)
    out = tmp_path / "out"
    plan = chunks.plan_chunks(info.duration, chunk_seconds=8)
    assert [c.length for c in plan] == [8, 8, pytest.approx(6, abs=0.05)]

    async def encode() -> None:
        for chunk in reversed(plan):  # independent of each other: any order, any worker
            await hls.run_ffmpeg(chunks.chunk_command(ffmpeg_exe(), source, out, info, rungs, chunk, "veryfast"))
        await hls.run_ffmpeg(chunks.audio_command(ffmpeg_exe(), source, out))

    asyncio.run(encode())
    renditions = chunks.assemble(out, info, rungs, plan)

    hls.check_output(out, rungs)  # the same check as a single pass: playlists ended, segments there, thumbnail
    assert [r["name"] for r in renditions] == ["480p"] and renditions[0]["bandwidth"] > 0
    assert not list(out.glob("*/chunk-*.m3u8"))
    master = (out / "master.m3u8").read_text()
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"' in master and 'AUDIO="audio"' in master
    playlist = (out / "480p" / "index.m3u8").read_text()
    durations = [float(line.split(":")[1].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF")]
    assert durations == pytest.approx([4, 4, 4, 4, 4, 2], abs=0.01)  # every segment the target, the last shorter
    assert [line for line in playlist.splitlines() if line.endswith(".ts")] == [f"{n:03d}.ts" for n in range(6)]

    frames = video_timestamps(out / "master.m3u8")
    assert len(frames) == len(video_timestamps(source)) == 660  # every frame once
    assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # no jump or overlap at the chunk boundaries
    # the whole audio once: the same samples as the source, give or take the AAC encoder's priming/padding
    assert abs(audio_samples(out / "master.m3u8") - audio_samples(source)) <= 2048
