"""Vendored assets are exactly what their README says they are."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "videoflix" / "static" / "vendor"


def test_hls_js_matches_its_recorded_hash():
    recorded = re.search(r"SHA-256 of `hls.min.js`: `([0-9a-f]{64})`", (VENDOR / "hls.js" / "README.md").read_text())
    actual = hashlib.sha256((VENDOR / "hls.js" / "hls.min.js").read_bytes()).hexdigest()
    assert recorded and recorded.group(1) == actual
    assert (VENDOR / "hls.js" / "LICENSE").read_text().startswith("Copyright")
