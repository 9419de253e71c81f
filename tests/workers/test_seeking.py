"""A source that does not decode cleanly from a seek (stream_workers/seeking.py): the real corpus' cockatoo, whose
camera marked pictures as keyframes that are not. Found by the check; read from its start by the rate aim's
samples and the quality measurement, which scored garbage pictures before; never made in parts."""

from __future__ import annotations

import dataclasses
import re
import subprocess

from stream_workers import aim_sample, hls, jobs, quality, rate_aim, seeking
from stream_workers.app import app
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import probe

from ..support.clips import ffmpeg, make_clip


def test_a_source_whose_keyframes_are_not_is_found_and_a_clean_one_is_not(cockatoo, tmp_path):
    _, info = cockatoo
    assert info.seeks is False
    clean = make_clip(tmp_path / "clean.mp4", seconds=8, size="320x240", rate=25)
    assert seeking.check(ffmpeg_exe(), clean, probe(clean)).seeks is True


def test_such_a_film_is_never_made_in_parts(cockatoo, monkeypatch):
    _, info = cockatoo
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, parts_from_seconds=5.0))
    assert jobs.in_parts(dataclasses.replace(info, seeks=True)) and not jobs.in_parts(info)


def test_the_aims_samples_of_such_a_film_are_its_pictures(cockatoo, tmp_path):
    """Each window of the rate aim's sample clip is the film's pictures decoded from its start (PSNR: identical,
    the clip is lossless); read by seeks, the windows from 5 s on were green garbage (PSNR 9-11 dB) and the
    probes scored 86-91 VMAF there, where the whole film scored 99."""
    source, info = cockatoo
    spans = aim_sample.windows(0.0, info.duration, rate_aim.SHARE)
    clip = tmp_path / "clip.mkv"
    ffmpeg(*rate_aim.sample_command(ffmpeg_exe(), source, info, spans, clip)[1:])
    for i, (start, length) in enumerate(spans):
        whole = f"setpts=PTS-STARTPTS,{hls.picture_filters(info, hls.constant_rate(info, None))}"
        graph = (f"[0:v]trim=start={i * length}:duration={length},setpts=PTS-STARTPTS,format=yuv444p[a];"
                 f"[1:v]{whole}trim=start={start}:duration={length},setpts=PTS-STARTPTS,format=yuv444p[b];"
                 "[a][b]psnr")  # fmt: skip
        argv = [ffmpeg_exe(), "-hide_banner", "-i", str(clip), "-i", str(source), "-filter_complex", graph,
                "-f", "null", "-"]  # fmt: skip
        said = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
        average = re.findall(r"PSNR .* average:(\S+)", said)[-1]
        assert average == "inf" or float(average) > 50.0, (start, average)


def test_the_quality_measurement_of_such_a_film_pairs_its_pictures(cockatoo, tmp_path):
    """A 480p rendition of the whole cockatoo scored in a window 8-12 s in: against the source decoded from its
    start it scores as a rendition should; against the seek's garbage it scored far below."""
    source, info = cockatoo
    rendition = tmp_path / "480p.mp4"
    ffmpeg("-i", str(source), "-vf", "scale=854:480", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
           "-an", str(rendition))  # fmt: skip
    log = tmp_path / "vmaf.json"
    argv = quality.window_command(ffmpeg_exe(), source, info, [(rendition, "mp4", (854, 480), log)], 8.0, 4.0,
                                  skip=8.0)  # fmt: skip
    ffmpeg(*argv[1:])
    scored = quality.score(quality.frame_scores(log))
    assert scored.frames > 10 and scored.mean > 90.0, scored
