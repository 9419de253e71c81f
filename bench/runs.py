"""Running a command the way the benchmarks time it: wall and CPU seconds of the process (its own rusage)."""

from __future__ import annotations

import os
import subprocess
import time


def wall_and_cpu(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv`; exits with its stderr if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{stderr.decode()[-2000:]}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime
