"""The layering is checked like the lint: import-linter's contracts in pyproject.toml ([tool.importlinter]) hold,
so a change that makes an import run the wrong way fails CI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


LINT = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_hold():
    result = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "0 broken" in result.stdout


def test_a_new_module_is_held_to_the_contracts_without_naming_it():
    """The contracts name packages, not lists of modules: a module added to the workers that imports an agent,
    or a new agent importing another, breaks them without anyone adding it to pyproject.toml."""
    for module in ("stream_workers.zz_shared_probe", "stream_workers.agents.zz_agent_probe"):
        probe = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert not probe.exists()
        probe.write_text("from stream_workers.agents import results  # noqa: F401\n")
        try:
            result = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
        finally:
            probe.unlink()
        assert result.returncode != 0 and f"{module} -> stream_workers.agents.results" in result.stdout, module


def test_tests_share_helpers_only_through_tests_support():
    """A helper two test modules need lives in tests/support/, never in one of them: a test module imports from
    no other test module or conftest (moving or renaming a test then breaks nothing else)."""
    tests = ROOT / "tests"
    wrong = []
    for path in tests.rglob("*.py"):
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = (*base, *(node.module or "").split(".")) if node.module else base
            elif (node.module or "").startswith("tests."):
                target = tuple(node.module.split("."))
            else:
                continue
            if target[:2] != ("tests", "support"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {'.'.join(target)}")
    assert wrong == []


def test_the_workers_take_from_the_web_tiers_package_only_what_both_share():
    """Every import from `stream_workers` into `videoflix` lands in `videoflix.core` (import-linter's forbidden
    contracts list what may not be imported; this is the other way round, and covers a new module by itself)."""
    graph = grimp.build_graph("stream_workers", "videoflix")
    outside = sorted(
        f"{importer} -> {imported}"
        for importer in graph.find_descendants("stream_workers") | {"stream_workers"}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] == "videoflix" and not imported.startswith("videoflix.core")
    )
    assert outside == []


def test_a_worker_loads_no_web_framework():
    """At run time too (the contracts read import statements): a worker with every agent loaded has imported
    neither Pyramid nor anything of the web tier outside videoflix.core (it once loaded pyramid.config through
    videoflix/__init__.py)."""
    probe = (
        "import sys, stream_workers.app as a; a.app.discover(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyramid', 'waitress', 'colander') "
        "or (m.startswith('videoflix.') and not m.startswith('videoflix.core'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_no_module_grows_into_a_grab_bag():
    """Modules are named for what they hold; past 400 lines one holds several things (issue 34 split hls.py,
    part_jobs.py, film_parts.py, media.py, devservices.py and services/videos.py at 423-613 lines)."""
    long = {
        str(path.relative_to(ROOT)): lines
        for package in ("videoflix", "stream_workers")
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
