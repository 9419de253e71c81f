"""One table of settings (issue 34): every environment variable either tier or the `videoflix` command reads is
a row of `videoflix.core.environment.VARIABLES`, `.env.template` documents exactly those rows, and the workers
read theirs only through the table (whose defaults are theirs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stream_workers.settings import WorkerSettings
from videoflix.config import ENVIRONMENT
from videoflix.core.environment import CLI, COMPOSE, TABLE, VARIABLES, WEB, WORKERS, value

ROOT = Path(__file__).resolve().parents[2]
#: how code reads a variable: env.get("X"), os.environ["X"], os.getenv("X"), value(env, "X")
NAME = r'"([A-Z][A-Z0-9_]+)"'
READ = re.compile(rf"(?:environ|env)(?:\.get\(|\[){NAME}|getenv\({NAME}|value\(\w+, {NAME}")


def variables_read(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for match in READ.finditer(path.read_text()):
            found.add(next(group for group in match.groups() if group))
    return found


@pytest.mark.parametrize("package", ["videoflix", "stream_workers"])
def test_every_variable_the_code_reads_is_in_the_table(package):
    assert variables_read(package) - set(TABLE) == set()


def test_the_template_documents_exactly_the_table_each_with_a_comment():
    template = (ROOT / ".env.template").read_text()
    documented = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", template, re.MULTILINE)
    assert sorted(documented) == sorted(TABLE)  # each once, none missing, none stale
    for name in TABLE:
        assert re.search(rf"^# .+\n#?\s*{name}=", template, re.MULTILINE), name


def test_every_row_says_who_reads_it_and_the_web_tiers_rows_are_its_ini_overrides():
    assert len(TABLE) == len(VARIABLES)
    for variable in VARIABLES:
        assert variable.tiers and set(variable.tiers) <= {WEB, WORKERS, CLI, COMPOSE}, variable
    assert {v.name: v.setting for v in VARIABLES if v.setting} == ENVIRONMENT
    assert {"AV1_LADDER", "QUALITY_SAMPLES", "PART_SECONDS", "WORKER_SCRATCH", "VMAF_FLOOR"} <= {
        v.name for v in VARIABLES if WORKERS in v.tiers
    }


def test_a_variable_outside_the_table_cannot_be_read():
    with pytest.raises(KeyError):
        value({"NOT_IN_THE_TABLE": "1"}, "NOT_IN_THE_TABLE")
    assert value({"PART_SECONDS": " 48 "}, "PART_SECONDS") == "48"
    assert value({"PART_SECONDS": ""}, "PART_SECONDS") == TABLE["PART_SECONDS"].default == "60"


def test_a_renamed_variable_is_still_read_by_its_former_name_with_a_warning(caplog):
    """CHUNK_SECONDS and CHUNKED_MIN_SECONDS became PART_SECONDS and PARTS_FROM_SECONDS (issue 34): an
    operator's environment of the earlier release keeps its settings; the new name wins when both are set."""
    renamed = {v.formerly: v.name for v in VARIABLES if v.formerly}
    assert renamed == {"CHUNK_SECONDS": "PART_SECONDS", "CHUNKED_MIN_SECONDS": "PARTS_FROM_SECONDS"}
    with caplog.at_level("WARNING", logger="videoflix.core.environment"):
        assert value({"CHUNK_SECONDS": "48"}, "PART_SECONDS") == "48"
    assert "rename it to PART_SECONDS" in caplog.text
    assert value({"CHUNK_SECONDS": "48", "PART_SECONDS": "24"}, "PART_SECONDS") == "24"
    assert value({"CHUNKED_MIN_SECONDS": "inf"}, "PARTS_FROM_SECONDS") == "inf"
    assert value({}, "PART_SECONDS") == "60"


def test_the_workers_defaults_are_the_tables(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    settings = WorkerSettings.from_environment()
    assert settings.x264_preset == TABLE["X264_PRESET"].default
    assert settings.part_seconds == int(TABLE["PART_SECONDS"].default)
    assert settings.vmaf_floor == float(TABLE["VMAF_FLOOR"].default)
    assert settings.kafka_bootstrap_servers == TABLE["KAFKA_BOOTSTRAP_SERVERS"].default
    assert settings.scratch == (tmp_path / TABLE["WORKER_SCRATCH"].default).absolute()
