"""The alert rules operators get (deploy/prometheus, issue 38), checked with Prometheus' own `promtool`: the
configuration and its rules load, and each alert fires on the series that should page someone, and not
before (alerts_test.yml); the compose file's Prometheus loads exactly these files. (That the rules' metrics
are what the running stack exports: tests/integration/test_monitoring.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is Debian's prometheus package")


@needs_promtool
def test_the_configuration_and_its_rules_load():
    checked = subprocess.run(
        [PROMTOOL, "check", "config", "prometheus.yml"], cwd=FOLDER, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout + checked.stderr


@needs_promtool
def test_each_alert_fires_on_what_should_page_and_not_before():
    tested = subprocess.run([PROMTOOL, "test", "rules", "alerts_test.yml"], cwd=FOLDER, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = yaml.safe_load((FOLDER / "alerts.yml").read_text())["groups"][0]["rules"]
    tests = yaml.safe_load((FOLDER / "alerts_test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert fired == {rule["alert"] for rule in rules}  # every alert is shown firing, not only loading


def test_the_compose_files_prometheus_loads_these_rules():
    compose = yaml.safe_load((FOLDER.parents[1] / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert prometheus["profiles"] == ["monitoring"] and prometheus["ports"] == ["127.0.0.1:9090:9090"]
    jobs = {job["job_name"]: job for job in yaml.safe_load((FOLDER / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["videoflix-worker"]["dns_sd_configs"][0]["names"] == ["worker"] and "worker" in compose["services"]
    assert jobs["videoflix-web"]["dns_sd_configs"][0]["port"] == 8000
