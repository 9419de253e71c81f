"""Automatic captions of a long film in parts, measured: the silences pass, the cut, each part heard, the
words joined, against one pass over the whole film; the CPU per minute of film next to the AV1 ladder's,
side by side in one run.

    python bench/caption_parts.py [--minutes 20] [--part-seconds 600] [--model base] [--no-one-pass]
                                  [--av1-title animation]

The film: bench/corpus.py's English recordings (a voice actor's prompts, real recorded speech) said one
after another with a 1.2 s pause, to `--minutes`, with a still picture (a film whose picture costs nothing,
so the figures are the speech's). It is captioned as the workers do (`caption_jobs`): its silences read once
(`speech_parts.silences`), cut into parts of `--part-seconds` in its pauses, the language detected once
from the first part, each part decoded and heard on its own (`transcription`), the words joined by time and
made cues. One process here plays every worker, one part after another: each part's wall time and CPU are
measured, and the time on N workers like this one projected (longest part first to the least loaded).
With one pass (the default), the whole film is heard at once too: the joined words against the one pass's
(WER between them: a doubled or lost word at a cut shows there), and both against the text said.

The AV1 ladder's CPU per minute of film is measured on a real title of the corpus (`--av1-title`, its AV1
pass as the workers run it, bench/quality.py's `av1_pass`), so that the captions' cost stands beside the
stage it runs after (issue 36: a 20-minute film's captions ready within the time its AV1 ladder takes).
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench import corpus
from bench.ladders import projected
from bench.quality import av1_pass
from bench.speech import film_of, repeated, word_error_rate
from stream_workers import av1_ladder, caption_cues, speech_model, speech_parts, transcription
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

#: the pause between two prompts of the long film
PAUSE = 1.2


def cpu() -> float:
    """CPU seconds of this process and its children (FFmpeg) so far."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def long_speech(folder: Path, minutes: float) -> tuple[Path, str]:
    """The English recording said again and again with a pause, to `minutes`, as a film; and its text."""
    sound, text = corpus.fetch_recording(next(r for r in corpus.RECORDINGS if r.name == "en"))
    seconds = probe(film_of(sound, folder / "one.mp4")).duration or 1.0
    return repeated(sound, text, max(1, round(minutes * 60 / (seconds + PAUSE))), folder / "speech.mp4", PAUSE)


def av1_cpu_per_minute(folder: Path, name: str) -> tuple[float, str]:
    """CPU seconds per minute of film of the workers' AV1 pass on a real title; and what was measured."""
    title = next(t for t in corpus.TITLES if t.name == name)
    source = corpus.fetch(title)
    info = probe(source)
    rungs = ladder_for(info.short_side)
    settings = SimpleNamespace(av1_preset=av1_ladder.PRESET, av1_crf=av1_ladder.CRF, av1_cap=av1_ladder.CAP)
    before = cpu()
    subprocess.run(av1_pass(source, folder / "av1", info, rungs, settings), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    spent = cpu() - before
    return spent * 60 / (info.duration or 1.0), f"{name} ({info.height}p, {info.duration:.0f} s, {len(rungs)} rungs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--part-seconds", type=float, default=600.0)
    parser.add_argument("--model", default=speech_model.DEFAULT)
    parser.add_argument("--no-one-pass", action="store_true", help="skip hearing the whole film at once")
    parser.add_argument("--av1-title", default="animation", help="the corpus title the AV1 pass is measured on")
    args = parser.parse_args()
    ffmpeg = ffmpeg_exe()
    folder = speech_model.model_folder(args.model, speech_model.CACHE)
    with tempfile.TemporaryDirectory(prefix="videoflix-caption-parts-") as scratch:
        work = Path(scratch)
        film, text = long_speech(work, args.minutes)
        info = probe(film)
        minutes = (info.duration or 0.0) / 60
        print(f"film: {minutes:.1f} min of real recorded speech ({args.model}, parts of {args.part_seconds:.0f} s)")

        started, before = time.monotonic(), cpu()
        quiet = speech_parts.silences(ffmpeg, film, info, 3600)
        stretches = speech_parts.cut(info.duration or 0.0, quiet, args.part_seconds)
        found_wall, found_cpu = time.monotonic() - started, cpu() - before
        in_pause = sum(speech_parts.in_silence(s.start, quiet) for s in stretches[1:])
        print(f"silences pass: {found_wall:.1f} s wall, {found_cpu:.1f} s CPU; {len(stretches)} parts, "
              f"{in_pause} of {len(stretches) - 1} cuts in a pause")  # fmt: skip

        started, before = time.monotonic(), cpu()
        first = transcription.sound(ffmpeg, film, info, stretches[0].start, stretches[0].length)
        language = transcription.language_of(first, folder)
        detect_wall, detect_cpu = time.monotonic() - started, cpu() - before
        print(f"language detected once: {language!r} in {detect_wall:.1f} s wall, {detect_cpu:.1f} s CPU")

        walls, cpus, words = [], [], []
        print(f"{'part':>5}{'start':>9}{'length':>8}{'wall s':>8}{'x real':>8}{'words':>7}")
        for stretch in stretches:
            started, before = time.monotonic(), cpu()
            samples = transcription.sound(ffmpeg, film, info, stretch.start, stretch.length)
            said = transcription.transcribe(samples, folder, offset=stretch.start, language=language or None)
            walls.append(time.monotonic() - started)
            cpus.append(cpu() - before)
            words += said.words
            print(f"{stretch.index:>5}{stretch.start:>9.1f}{stretch.length:>8.1f}{walls[-1]:>8.1f}"
                  f"{stretch.length / walls[-1]:>8.1f}{len(said.words):>7}")  # fmt: skip
        cues = caption_cues.cues(words)
        joined = "".join(w.text for w in words)
        parts_cpu = found_cpu + detect_cpu + sum(cpus)
        one_worker = found_wall + detect_wall + sum(walls)
        print(
            f"in parts: {len(words)} words, {len(cues)} cues, WER against the text {word_error_rate(text, joined):.1%}"
        )
        print(f"  one worker: {one_worker:.0f} s wall ({minutes * 60 / one_worker:.1f}x realtime), "
              f"{parts_cpu:.0f} s CPU = {parts_cpu / minutes:.1f} CPU s per film minute")  # fmt: skip
        for machines in (2, 4, 8):
            wall = found_wall + detect_wall + projected(walls, machines)
            print(f"  on {machines} workers like this one (projected): ready in {wall:.0f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory of this process: {peak:.0f} MB")

        if not args.no_one_pass:
            started, before = time.monotonic(), cpu()
            whole = transcription.transcribe(transcription.sound(ffmpeg, film, info), folder, language=language or None)
            wall, spent = time.monotonic() - started, cpu() - before
            heard = "".join(w.text for w in whole.words)
            print(f"one pass: {wall:.0f} s wall, {spent:.0f} s CPU, {len(whole.words)} words, WER against the "
                  f"text {word_error_rate(text, heard):.1%}; the parts' words against the one pass's: "
                  f"{word_error_rate(heard, joined):.1%}")  # fmt: skip

        per_minute, measured = av1_cpu_per_minute(work, args.av1_title)
        print(f"AV1 pass on {measured}: {per_minute:.0f} CPU s per film minute; the captions cost "
              f"{parts_cpu / minutes:.1f}: {per_minute / (parts_cpu / minutes):.1f}x less than the AV1 ladder, so "
              f"a {minutes:.0f}-minute film's AV1 ladder takes ~{per_minute * minutes / 60:.0f} CPU minutes and its "
              f"captions {parts_cpu / 60:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
