"""The layering is checked like the lint: import-linter's contracts in pyproject.toml ([tool.importlinter]) hold,
so a change that makes an import run the wrong way fails CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "0 broken" in result.stdout
