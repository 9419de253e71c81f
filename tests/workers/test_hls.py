"""The FFmpeg side as plain code: ladder planning, the one-pass command, progress, output checks; and one real
run on a generated clip."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from pathlib import Path

import pytest

from stream_workers import ffmpeg_run, hls_output, ladders, sheets
from stream_workers.film_steps import FilmSteps
from stream_workers.settings import ladder_crf
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, parse_probe, probe
from videoflix.core.storyboard import layout_for

from ..support.clips import make_clip


def info(width=1920, height=1080, audio=True, duration=10.0) -> MediaInfo:
    return MediaInfo(duration, width, height, 30.0, "h264", audio, container="mp4")


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (1080, ["480p", "720p", "1080p"]),
        (2160, ["480p", "720p", "1080p"]),
        (1079, ["480p", "720p"]),
        (720, ["480p", "720p"]),
        (480, ["480p"]),
    ],
)
def test_plan_never_upscales(height, expected):
    assert [r.name for r in ladder_for(height)] == expected


@pytest.mark.parametrize(("height", "made"), [(360, 360), (479, 478), (1, 2)])
def test_small_sources_get_the_lowest_rung_at_their_own_height(height, made):
    [rung] = ladder_for(height)
    assert (rung.name, rung.short_side) == ("480p", made)


def test_command_is_one_pass_with_aligned_keyframes(tmp_path):
    argv = FilmSteps(info(), ladder_for(info().short_side)).single_pass("ffmpeg", tmp_path / "in.mp4", tmp_path / "out")

    assert argv.count("-i") == 1  # decoded once
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.startswith("[0:v]split=4") and graph.count("scale=") == 4
    assert argv[argv.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*4)"
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,a:0,name:480p v:1,a:1,name:720p v:2,a:2,name:1080p"
    assert argv[argv.index("-hls_segment_filename") + 1].endswith("out/%v/%03d.ts")
    assert argv[argv.index("-b:v:2") + 1] == "5000k"
    assert argv[-1].endswith("thumbnail.jpg")


def test_command_without_audio_maps_no_audio(tmp_path):
    argv = FilmSteps(info(audio=False), ladder_for(info(audio=False).short_side)).single_pass(
        "ffmpeg", tmp_path / "in.mp4", tmp_path / "out"
    )
    assert "0:a:0" not in argv and "-c:a" not in argv
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,name:480p v:1,name:720p v:2,name:1080p"


def test_progress_parser():
    parser = ffmpeg_run.ProgressParser()
    lines = ["frame=10", "out_time_us=2500000", "speed=1.5x", "progress=continue", "out_time_us=N/A", "progress=end"]
    ends = [parser.feed(line) for line in lines]
    assert ends == [False, False, False, True, False, True]
    assert parser.out_seconds == 2.5 and parser.speed == 1.5 and parser.finished
    # a job's share and ETA from its figures: below 100 until done, unknown without a length or a speed
    assert (parser.percent(10.0), parser.eta(10.0)) == (25.0, 5.0)
    assert (parser.percent(2.0), parser.eta(2.0)) == (99.0, 0.0)
    assert (parser.percent(None), parser.eta(None), ffmpeg_run.ProgressParser().eta(10.0)) == (0.0, None, None)


@pytest.mark.parametrize(
    "line",
    [
        "Error opening input file file:/srv/videoflix/media/videos/7/source.mp4.",
        "[in#0 @ 0x5563] Error opening input: file:///srv/videoflix/media/videos/7/source.mp4: Invalid data",
        "Could not open '/srv/videoflix/media/videos/7/hls-ab12/480p/003.ts' for writing: error",
    ],
)
def test_summarize_names_no_server_path(line):
    said = ffmpeg_run.summarize(f"frame=1\n{line}\n")
    assert "/srv" not in said and "videoflix" not in said and "media" not in said
    assert ("source.mp4" in said) or ("003.ts" in said)


def test_summarize_prefers_error_lines():
    stderr = "something\n[h264] Invalid NAL unit size\nnoise\nError while decoding stream\n"
    assert ffmpeg_run.summarize(stderr) == "[h264] Invalid NAL unit size; Error while decoding stream"


def test_check_output_rejects_incomplete_renditions(tmp_path):
    rungs = ladder_for(480)
    (tmp_path / "master.m3u8").write_text("#EXTM3U\n")
    (tmp_path / "480p").mkdir()
    (tmp_path / "480p" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:4,\n000.ts\n")  # no ENDLIST
    with pytest.raises(ffmpeg_run.TranscodeError, match="incomplete"):
        hls_output.check_output(tmp_path, rungs)


def test_probe_parses_rotation_and_missing_audio():
    stderr = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Duration: 00:00:03.50, start: 0.000000, bitrate: 1000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 900 kb/s, 29.97 fps
      Side data:
        displaymatrix: rotation of -90.00 degrees
"""
    facts = parse_probe(stderr)
    assert (facts.width, facts.height, facts.rotation) == (1080, 1920, 270)
    assert facts.duration == 3.5 and facts.fps == 29.97 and not facts.has_audio and facts.has_video


def test_real_transcode_of_a_generated_clip(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", seconds=3, size="854x480")
    facts = probe(clip)
    rungs = ladder_for(facts.short_side)
    out = tmp_path / "out"
    out.mkdir()
    seen = []

    async def on_progress(parser):
        seen.append(parser.out_seconds)

    result = asyncio.run(
        ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs).single_pass(ffmpeg_exe(), clip, out), on_progress)
    )

    hls_output.check_output(out, rungs)
    assert result.out_seconds == pytest.approx(3.0, abs=0.1) and seen and seen[-1] == result.out_seconds
    assert hls_output.master_renditions(out, rungs)[0]["height"] == 480


def test_hung_ffmpeg_is_killed():
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(ffmpeg_run.TranscodeTimeout, match="no progress"):
        asyncio.run(ffmpeg_run.run_ffmpeg(argv, timeout=20, stall_timeout=0.5))


def test_a_full_disk_is_a_storage_error_not_a_bad_file():
    """Written to /dev/full, every write fails with ENOSPC: the job is to be retried, and the reason says why."""
    argv = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
            "-f", "mpegts", "-y", "/dev/full"]  # fmt: skip
    with pytest.raises(ffmpeg_run.IOFault, match="no space left on device") as raised:
        asyncio.run(ffmpeg_run.run_ffmpeg(argv, timeout=60, stall_timeout=30))
    assert not isinstance(raised.value, ffmpeg_run.TranscodeError)  # TranscodeError would fail the video at once


def test_storage_check_passes_on_a_writable_folder_and_leaves_nothing(tmp_path):
    hls_output.check_storage(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_storage_check_reports_an_unwritable_folder(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ffmpeg_run.IOFault, match="could not be written: not a directory"):
        hls_output.check_storage(not_a_folder)


def test_a_single_frame_video_gets_its_thumbnail_and_storyboard(tmp_path):
    """The thumbnail is the last frame up to a second in, at least the first: it never waits for a frame the
    container's claimed duration promises but the file does not hold. The storyboard gets that frame too (an
    output with no frame would fail the whole job)."""
    clip = make_clip(tmp_path / "one.mp4", audio=False, extra=["-frames:v", "1"])
    facts = probe(clip)
    rungs = ladder_for(facts.short_side)
    out = tmp_path / "out"
    out.mkdir()
    plan = sheets.make_frames_folder(out, layout_for(facts.width, facts.height, facts.duration))
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs, storyboard=plan).single_pass(ffmpeg_exe(), clip, out)))
    hls_output.check_output(out, rungs)
    assert sheets.tile(ffmpeg_exe(), out, plan, final=True) == [0]


def test_ffmpeg_is_killed_when_the_progress_callback_gives_up():
    """The transcode agent stops a job from its progress callback (the video was deleted): FFmpeg must not
    run on to the end of a long input."""
    import psutil

    class GiveUp(Exception):
        pass

    async def on_progress(parser):
        raise GiveUp

    argv = [ffmpeg_exe(), "-hide_banner", "-nostats", "-progress", "pipe:1", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=320x240:rate=25", "-t", "600", "-f", "null", "-"]  # fmt: skip
    with pytest.raises(GiveUp):
        asyncio.run(ffmpeg_run.run_ffmpeg(argv, on_progress, timeout=60, stall_timeout=30))
    assert not [p for p in psutil.Process().children(recursive=True) if p.name().startswith("ffmpeg")]


@pytest.mark.parametrize("niceness", [0, 5])
def test_a_job_that_must_yield_runs_at_a_lower_cpu_priority(niceness):
    """The long film's audio job runs niced, so the first part beside it gets the cores (`niceness`)."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-progress", "pipe:1", "-nostats", "-re", "-f", "lavfi",
            "-i", "anullsrc=duration=2", "-f", "null", "-"]  # fmt: skip
    seen = []

    async def on_progress(parser) -> None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                ffmpeg = b"ffmpeg" in (stat.parent / "cmdline").read_bytes().split(b"\0")[0]
                if int(fields[1]) == os.getpid() and ffmpeg:  # this test's FFmpeg (not the session's services)
                    seen.append(int(fields[16]))  # its nice value

    asyncio.run(ffmpeg_run.run_ffmpeg(argv, on_progress, niceness=niceness))
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert seen and set(seen) == {base + niceness}


def test_jobs_report_progress_at_least_every_quarter_second():
    """A job sees its first segments (and a deletion) at FFmpeg's next progress block: never more than ~0.25 s
    apart, not its default 0.5 s. FFmpeg drops a block whose wait ended a hair early (then the gap is twice
    the period: CI saw every other block go with a period of 0.25 s), so the largest gap is what counts."""
    argv = [*ffmpeg_run.ffmpeg_head(ffmpeg_exe()), "-re", "-f", "lavfi", "-i", "anullsrc=duration=4", "-f", "null", "-"]
    blocks = []

    async def on_progress(parser) -> None:
        blocks.append(parser.out_seconds)

    asyncio.run(ffmpeg_run.run_ffmpeg(argv, on_progress))
    gaps = [later - earlier for earlier, later in itertools.pairwise(blocks[:-1])]  # (the last block ends the run)
    assert len(blocks) >= 12 and max(gaps) <= 0.3, blocks


def test_per_title_rate_control_is_crf_capped_at_a_share_of_the_fixed_ladders_bitrate(tmp_path):
    rungs = ladder_for(1080)
    per_title = FilmSteps(info(), rungs, crf=21).single_pass("ffmpeg", tmp_path / "in.mp4", tmp_path / "out")
    halved = FilmSteps(info(), rungs, crf=21, cap=0.5).single_pass("ffmpeg", tmp_path / "in.mp4", tmp_path / "out")
    fixed = FilmSteps(info(), rungs).single_pass("ffmpeg", tmp_path / "in.mp4", tmp_path / "out")
    for i, rung in enumerate(rungs):
        assert per_title[per_title.index(f"-crf:v:{i}") + 1] == "21" and f"-b:v:{i}" not in per_title
        # capped at PER_TITLE_CAP of the fixed ladder's bitrate (not its peak), with the same buffer
        assert per_title[per_title.index(f"-maxrate:v:{i}") + 1] == f"{int(rung.video_kbps * ladders.PER_TITLE_CAP)}k"
        assert halved[halved.index(f"-maxrate:v:{i}") + 1] == f"{rung.video_kbps // 2}k"
        assert per_title[per_title.index(f"-bufsize:v:{i}") + 1] == fixed[fixed.index(f"-bufsize:v:{i}") + 1]
        assert fixed[fixed.index(f"-b:v:{i}") + 1] == f"{rung.video_kbps}k" and f"-crf:v:{i}" not in fixed


@pytest.mark.parametrize(
    ("value", "expected"), [("", ladders.PER_TITLE_CRF), ("fixed", None), (" Fixed ", None), ("23.5", 23.5)]
)
def test_ladder_crf_setting(value, expected):
    assert ladder_crf(value) == expected


@pytest.mark.parametrize("value", ["-1", "52", "high"])
def test_a_bad_ladder_crf_is_refused(value):
    with pytest.raises(ValueError):
        ladder_crf(value)
