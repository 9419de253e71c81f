"""Chunked transcoding (stream_workers/chunks.py) on a real clip: chunks encoded separately, in any order,
join into one output that FFmpeg's HLS client decodes end to end with every source frame once, no timestamp
jump at a chunk boundary, 4 s segments, and the whole audio once with no gap, through the master playlist and
through a rendition's own playlist (which the existing frontend plays)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from stream_workers import chunks, hls
from videoflix.media import ffmpeg_exe, probe

from ..clips import audio_frames, audio_samples, make_clip, video_timestamps


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
    ffmpeg = ffmpeg_exe()
    out = tmp_path / "out"
    plan = chunks.plan_chunks(info.duration, chunk_seconds=8)
    assert [c.length for c in plan] == [8, 8, pytest.approx(6, abs=0.05)]
    every = {c.index for c in plan}

    async def encode(argv_list) -> None:
        for argv in argv_list:
            await hls.run_ffmpeg(argv)

    # independent of each other: any order, any worker
    asyncio.run(encode([chunks.chunk_command(ffmpeg, source, out, info, rungs, c, "veryfast") for c in reversed(plan)]))
    # the picture alone is not served: a segment waits for its sound
    assert not chunks.publish_progress(ffmpeg, out, info, rungs, plan, every)
    assert not (out / "480p").exists() and not (out / "master.m3u8").exists()

    asyncio.run(encode([chunks.audio_command(ffmpeg, source, out)]))
    assert chunks.publish_progress(ffmpeg, out, info, rungs, plan, every)
    growing = (out / "480p" / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in growing and growing.count(".ts") == 6 and "ENDLIST" not in growing

    renditions = chunks.assemble(ffmpeg, out, info, rungs, plan)
    hls.check_output(out, rungs)  # the same check as a single pass: playlists ended, segments there, thumbnail
    assert [r["name"] for r in renditions] == ["480p"] and renditions[0]["bandwidth"] > 0
    assert sorted(p.name for p in out.iterdir()) == ["480p", "master.m3u8", "thumbnail.jpg"]  # parts/ removed
    assert not list(out.glob("**/*.new"))
    master = (out / "master.m3u8").read_text()
    assert "TYPE=AUDIO" not in master and 'CODECS="avc1.640028,mp4a.40.2"' in master  # sound in every rendition
    playlist = (out / "480p" / "index.m3u8").read_text()
    durations = [float(line.split(":")[1].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF")]
    assert durations == pytest.approx([4, 4, 4, 4, 4, 2], abs=0.01)  # every segment the target, the last shorter
    assert [line for line in playlist.splitlines() if line.endswith(".ts")] == [f"{n:03d}.ts" for n in range(6)]
    assert chunks.assemble(ffmpeg, out, info, rungs, plan) == renditions  # a redelivered job: the same answer

    for entry in (out / "master.m3u8", out / "480p" / "index.m3u8"):
        frames = video_timestamps(entry)
        assert len(frames) == len(video_timestamps(source)) == 660  # every frame once
        assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # no jump or overlap at the chunk boundaries
        # the whole audio once: the same samples as the source, give or take the AAC encoder's priming/padding
        assert abs(audio_samples(entry) - audio_samples(source)) <= 2048
        sound = audio_frames(entry)
        assert [(a, b) for a, b in itertools.pairwise(sound) if a[0] + a[1] != b[0]] == []  # no gap, no overlap


def test_a_segment_served_without_its_sound_would_be_heard(tmp_path):
    """The check above can fail: a segment muxed without its audio leaves a gap that audio_frames shows."""
    source = make_clip(tmp_path / "film.mp4", seconds=10, size="640x360", rate=30)
    info = probe(source)
    rungs = hls.plan(info)
    ffmpeg = ffmpeg_exe()
    out = tmp_path / "out"
    plan = chunks.plan_chunks(info.duration, chunk_seconds=8)
    for argv in [*(chunks.chunk_command(ffmpeg, source, out, info, rungs, c, "veryfast") for c in plan),
                 chunks.audio_command(ffmpeg, source, out)]:  # fmt: skip
        asyncio.run(hls.run_ffmpeg(argv))
    chunks.mux_segment(ffmpeg, out, rungs, "001.ts", [])
    chunks.assemble(ffmpeg, out, info, rungs, plan)
    sound = audio_frames(out / "480p" / "index.m3u8")
    gaps = [(b[0] - a[0] - a[1]) / 48000 for a, b in itertools.pairwise(sound) if a[0] + a[1] != b[0]]
    assert gaps == [pytest.approx(4.0, abs=0.05)]
