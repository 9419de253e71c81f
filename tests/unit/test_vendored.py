"""Vendored assets are exactly what their READMEs say they are."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "videoflix" / "static" / "vendor"


@pytest.mark.parametrize(
    ("folder", "asset"), [("hlsjs", "hls.min.js"), ("redoc", "redoc.standalone.js"), ("tusjs", "tus.min.js")]
)
def test_vendored_asset_matches_its_recorded_hash(folder, asset):
    readme = (VENDOR / folder / "README.md").read_text()
    recorded = re.search(rf"SHA-256 of `{re.escape(asset)}`: `([0-9a-f]{{64}})`", readme)
    actual = hashlib.sha256((VENDOR / folder / asset).read_bytes()).hexdigest()
    assert recorded and recorded.group(1) == actual
    assert (VENDOR / folder / "LICENSE").read_text().strip()
