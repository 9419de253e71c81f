"""The alert rules operators get (deploy/prometheus, issue 38), checked with Prometheus' own `promtool`: the
configuration and its rules load, and each alert fires on the series that should page someone, and not
before (alerts_test.yml); the compose file's Prometheus loads exactly these files. (That the rules' metrics
are what the running stack exports: tests/integration/test_monitoring.py.)"""

from __future__ import annotations

import json
import re
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


DASHBOARD = FOLDER.parent / "grafana" / "dashboards" / "videoflix.json"


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels if panel["type"] != "row" for target in panel["targets"]]


def test_the_dashboard_is_whole_and_reads_the_provisioned_prometheus():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "videoflix" and dashboard["title"] == "Videoflix service"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    sources = yaml.safe_load((FOLDER.parent / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
                             .read_text())["datasources"]  # fmt: skip
    assert [(s["uid"], s["url"]) for s in sources] == [("prometheus", "http://prometheus:9090")]
    for panel in panels:
        assert panel["targets"] and panel["datasource"]["uid"] == "prometheus", panel["title"]
        assert all(target["datasource"]["uid"] == "prometheus" for target in panel["targets"]), panel["title"]
    # laid out on Grafana's 24-column grid without overlaps
    cells = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine
    # what pages someone is on the dashboard too: each alert's metrics are drawn
    rules = yaml.safe_load((FOLDER / "alerts.yml").read_text())["groups"][0]["rules"]
    watched = {name for rule in rules for name in re.findall(r"\bvideoflix_\w+", rule["expr"])}
    drawn = {name for query in dashboard_queries() for name in re.findall(r"\bvideoflix_\w+", query)}
    assert watched <= drawn, watched - drawn


@needs_promtool
def test_every_dashboard_query_parses(tmp_path):
    """promtool parses PromQL in recording rules: each panel's query becomes one, so a typo fails here, not on
    an operator's screen."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}", "expr": expr} for n, expr in enumerate(dashboard_queries())]}]}  # fmt: skip
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run([PROMTOOL, "check", "rules", "queries.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(dashboard_queries())} rules found" in checked.stdout


def test_the_compose_files_grafana_provisions_the_dashboard():
    compose = yaml.safe_load((FOLDER.parents[1] / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    assert grafana["profiles"] == ["monitoring"] and grafana["ports"] == ["127.0.0.1:3000:3000"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    provider = yaml.safe_load((FOLDER.parent / "grafana" / "provisioning" / "dashboards" / "videoflix.yml")
                              .read_text())["providers"][0]  # fmt: skip
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    environment = grafana["environment"]
    # the admin's password from the environment only (required), nobody anonymous, no sign-up
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
