"""Running FFmpeg off the event loop: its progress read as it goes, a hung or overlong run killed, and its
failures told apart (the file, the storage, the machine) in words an operator may read (no server path)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from videoflix.core.redaction import redact

#: FFmpeg messages that blame the worker's disk, not the file: such a failure is retried like any other fault
#: of the machine, and reported as what it is
IO_FAULTS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "Input/output error")


class IOFault(OSError):
    """The film's bytes could not be read or written for the machine's sake, not the file's: the output on the
    worker's disk (full, read-only, an I/O error: `io_fault`), or the source (`SourceUnreadable`). Transient:
    the job is retried. (Storage, the configured store of sources and outputs, has StorageUnavailable.)"""


class SourceUnreadable(IOFault):
    """The stored upload stopped answering while FFmpeg read it (the store went away for longer than FFmpeg's
    reconnecting lasts). Transient like any IOFault: the job is retried."""


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


#: seconds between FFmpeg's progress blocks: how soon a job sees its first segments (the film becomes
#: playable at the first block after them) and notices a deletion. Half the 0.25 s wanted: FFmpeg skips a
#: block when its wait ended a hair before the period (on some machines every other one), so the gap is up
#: to twice this; a few lines of parsing a second
PROGRESS_PERIOD = 0.125


def ffmpeg_head(ffmpeg: str) -> list[str]:
    """How every job runs FFmpeg: quiet but for errors, progress as key=value blocks on stdout (ProgressParser)."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
            "-stats_period", str(PROGRESS_PERIOD)]  # fmt: skip


def run_to_end(argv: list[str], timeout: float, niceness: int = 0) -> str:
    """(Blocking.) Run an FFmpeg that reports nothing along the way (a VMAF comparison, the rate aim's probes)
    to its end, `niceness` lower in priority (a further ladder's: it yields the CPU to the H.264 jobs as its
    encode does), killed past `timeout`; what it logged (a filter's findings), or TranscodeError, with
    FFmpeg's own words, if it fails."""
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:  # noqa: S603 - our FFmpeg
        if niceness:
            with contextlib.suppress(OSError):  # (it may already have ended)
                os.setpriority(os.PRIO_PROCESS, proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    logged = stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise TranscodeError(summarize(logged))
    return logged


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
        if fault := io_fault(stderr):
            raise fault
        raise TranscodeError(
            "The video could not be decoded; the file may be damaged or use an unsupported codec. "
            f"FFmpeg said: {summarize(stderr)}"
        )
    return RunResult(parser.out_seconds, stderr, time.monotonic() - started)


def io_fault(stderr: str) -> IOFault | None:
    """The error to raise when FFmpeg's messages blame the disk (IO_FAULTS), else None."""
    fault = next((f for f in IO_FAULTS if f in stderr), None)
    if fault is None:
        return None
    return IOFault(f"The output could not be written: {fault.lower()}. FFmpeg said: {summarize(stderr)}")


def summarize(stderr: str) -> str:
    """The most telling FFmpeg error lines, short enough for an operator's status page, and with no server
    path, host or signed URL: a file is named by its last part only (`source.mp4`, `012.ts`; `redact`)."""
    lines = [redact(line.strip()) for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if any(w in line.lower() for w in ("invalid", "error", "could not", "failed"))]
    chosen = (telling or lines)[-3:]
    return "; ".join(chosen)[:500] or "exit status without a message"


def run_copy(argv: list[str], timeout: float) -> str | None:
    """A short FFmpeg run of ours that copies streams (joining a part's picture and sound): None when it went
    through, else what FFmpeg said (`copy_failure` makes the error of it)."""
    try:
        result = subprocess.run(  # noqa: S603 - our own ffmpeg, paths we created
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"FFmpeg did not end within {timeout:g} s"
    return (result.stderr or "FFmpeg failed") if result.returncode != 0 else None


def copy_failure(stderr: str, what: str) -> Exception:
    """The error of a failed copy (`run_copy`): the storage's fault, or `what` could not be joined."""
    return io_fault(stderr) or TranscodeError(f"The film's {what} could not be joined: {summarize(stderr)}")
