"""Imported first by every benchmark script: puts the project root on sys.path and takes bench/ off it, and
makes SIGTERM unwind the script.

Python puts a script's own folder first on sys.path; there `bench/http.py` would shadow the standard library's
`http` package for everything imported afterwards (webob, urllib, ...).
"""

import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != HERE]
sys.path.insert(0, ROOT)

# A benchmark stopped with SIGTERM (`timeout`, `kill`) unwinds like one interrupted, so its stacks stop the
# services and workers they started instead of leaving them running beside the next measurement.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
