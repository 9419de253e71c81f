"""The console writes scores with JavaScript's `toFixed`; the tests that read them back compute the same text
(`tests/support/browser.js_fixed`). Python's own formatting differs on exact ties (95.25: 95.2 against 95.3),
which made the console test fail about once in ten runs."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ..support.browser import js_fixed

TIES_AND_OTHERS = [95.25, 97.75, 80.05, 0.125, 12.45, 95.35, 99.95, 88.3333333, 91.0]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_js_fixed_writes_what_the_browser_writes():
    script = f"console.log(JSON.stringify({json.dumps(TIES_AND_OTHERS)}.map(v => v.toFixed(1))))"
    browser = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    assert [js_fixed(value) for value in TIES_AND_OTHERS] == browser
    assert browser != [f"{value:.1f}" for value in TIES_AND_OTHERS]  # the difference the helper exists for
