"""The layering is checked like the lint: import-linter's contracts in pyproject.toml ([tool.importlinter]) hold,
so a change that makes an import run the wrong way fails CI."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "0 broken" in result.stdout


def test_every_shared_worker_module_is_held_to_importing_no_agent():
    """The contract names its modules (import-linter has no "all but"): a new module must be added to it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [contract] = [c for c in config if c["name"] == "What agents share imports no agent"]
    shared = {f"stream_workers.{path.stem}" for path in (ROOT / "stream_workers").glob("*.py")} - {
        "stream_workers.__init__"
    }
    assert set(contract["source_modules"]) == shared
    agents = {f"stream_workers.agents.{p.stem}" for p in (ROOT / "stream_workers" / "agents").glob("*.py")}
    [independent] = [c for c in config if c["type"] == "independence"]
    assert set(independent["modules"]) == agents - {"stream_workers.agents.__init__"}
