"""ruff is part of the test run, so CI keeps the code clean the way review would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_console_script_declares_a_function_twice():
    """A second `function clock()` in one script silently replaced the first (JavaScript hoists declarations, so
    the earlier callers got the later body): the console's browser test caught it once, this catches it at once.
    Each script is one closure; a name declared twice in it is a mistake."""
    for script in sorted((ROOT / "videoflix" / "static" / "console").glob("*.js")):
        names = re.findall(r"^\s*(?:async\s+)?function\s+(\w+)\s*\(", script.read_text(), re.M)
        twice = sorted({name for name in names if names.count(name) > 1})
        assert not twice, f"{script.name} declares {twice} more than once"
