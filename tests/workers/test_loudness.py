"""One loudness for every title (issue 20): the sound is measured over the whole film (ebur128), then the
single pass, or a long film's one audio job, applies one gain to -16 LUFS with the true peak under
-1.5 dBTP. Checked on what players get: FFmpeg's ebur128 over a rendition's playlist."""

from __future__ import annotations

import array
import asyncio
import wave
from pathlib import Path

import pytest

from stream_workers import ffmpeg_run, loudness, part_playlists
from stream_workers.film_steps import FilmSteps
from videoflix.core.containers import ffmpeg_exe, input_options
from videoflix.core.media import MediaInfo, ladder_for, probe

from ..support.clips import ffmpeg, heard


def clip(path: Path, gain_db: float) -> Path:
    """6 s of picture and a 440 Hz tone `gain_db` from FFmpeg's default sine level (-18 dBFS peak)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=48000:duration=6", "-af", f"volume={gain_db}dB", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(path))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loudness")
    # -35 dB: a title far too quiet; +20 dB: one far too loud, clipping (its peaks at 0 dBFS); and one whose
    # quiet tone is broken by a loud click every second: raised as a whole, its clicks would clip
    spiky = folder / "spiky.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=48000:duration=6,volume=-25dB", "-f", "lavfi", "-i",
           "aevalsrc='if(lt(mod(t\\,1)\\,0.001)\\,0.5\\,0)':s=48000:d=6", "-filter_complex",
           "[1:a][2:a]amix=inputs=2:normalize=0[a]", "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(spiky))  # fmt: skip
    return {"quiet": clip(folder / "quiet.mp4", -35), "loud": clip(folder / "loud.mp4", 20), "spiky": spiky}


@pytest.mark.parametrize("name", ["quiet", "loud", "spiky"])
def test_the_single_pass_brings_a_title_to_one_loudness(sources, tmp_path, name):
    info = probe(sources[name])
    measured = loudness.measure(ffmpeg_exe(), sources[name], info)
    assert measured is not None and abs(measured.integrated - loudness.TARGET_I) > 10  # far off to begin with
    rungs = ladder_for(info.short_side)
    out = tmp_path / "out"
    out.mkdir()
    level = loudness.filters(ffmpeg_exe(), sources[name], info)[0]
    # a gain alone where the peaks stay under the ceiling; the limiter only where they would not
    assert level.startswith("volume=") and ("alimiter" in level) == (name == "spiky"), (measured, level)
    argv = FilmSteps(info, rungs, audio_filters={0: level}).single_pass(ffmpeg_exe(), sources[name], out)
    asyncio.run(ffmpeg_run.run_ffmpeg(argv))
    result = heard(out / rungs[0].name / "index.m3u8")
    assert result.true_peak <= -1.0, result  # the ceiling holds
    # within ±1 LU, the spiky one too: its clicks limited, its tone raised (loudnorm reached only -26.9)
    assert abs(result.integrated - loudness.TARGET_I) <= 1.0, result


def test_the_limiter_keeps_the_sound_in_sync(tmp_path):
    """The limiter's look-ahead delays the sound unless compensated: a click must come out when it went in."""
    source = tmp_path / "click.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc='if(between(t\\,1\\,1.002)\\,0.9\\,0.001*sin(2*PI*440*t))':s=48000:d=3",
           "-c:a", "pcm_s16le", str(source))  # fmt: skip
    limited = tmp_path / "limited.wav"
    ffmpeg("-i", str(source), "-af", loudness.limiter(30.0), "-c:a", "pcm_s16le", str(limited))
    loudest = [max(range(len(w)), key=lambda i, w=w: abs(w[i])) for w in (samples(source), samples(limited))]
    assert abs(loudest[1] - loudest[0]) <= 48, loudest  # within 1 ms


def samples(path: Path) -> array.array:
    """A mono 16-bit WAV's samples."""
    with wave.open(str(path)) as wav:
        return array.array("h", wav.readframes(wav.getnframes()))


def test_a_long_films_audio_job_normalizes_the_whole_film(sources, tmp_path):
    info = probe(sources["quiet"])
    level = loudness.normalize_filter(loudness.measure(ffmpeg_exe(), sources["quiet"], info))
    asyncio.run(
        ffmpeg_run.run_ffmpeg(
            FilmSteps(info, [], audio_filters={0: level}).sound_job(ffmpeg_exe(), sources["quiet"], tmp_path)
        )
    )
    result = heard(tmp_path / part_playlists.AUDIO_PLAYLIST)
    assert abs(result.integrated - loudness.TARGET_I) <= 1.0 and result.true_peak <= -1.0, result


def test_silence_and_films_without_sound_are_left_alone(tmp_path):
    silent = loudness.Loudness(integrated=float("-inf"), threshold=-70.0, lra=0.0, true_peak=float("-inf"))
    assert loudness.normalize_filter(silent) is None and loudness.normalize_filter(None) is None
    mute = MediaInfo(6.0, 320, 240, 25.0, "h264", False, container="mp4")
    assert loudness.measure(ffmpeg_exe(), tmp_path / "none.mp4", mute) is None
    argv = FilmSteps(mute, ladder_for(240), audio_filters={0: "loudnorm"}).single_pass(
        "ffmpeg", tmp_path / "in.mp4", tmp_path / "out"
    )
    assert "loudnorm" not in " ".join(argv)


def test_the_measurement_reads_the_source_through_the_one_input_helper(tmp_path):
    info = MediaInfo(6.0, 320, 240, 25.0, "h264", True, container="matroska")
    argv = loudness.measure_command("ffmpeg", tmp_path / "source.mkv", info)
    expected = input_options(tmp_path / "source.mkv", "matroska")
    assert argv.count("-i") == 1 and argv[argv.index("-protocol_whitelist") :][: len(expected)] == expected
