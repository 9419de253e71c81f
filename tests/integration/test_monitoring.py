"""The alert rules (deploy/prometheus/alerts.yml, issue 38) and the Grafana dashboard read metrics the running
stack really exports: every `videoflix_*` name in a rule's expression or a panel's query is in the web tier's
or a worker's /metrics, as Prometheus would scrape them from the session's pipeline. (The rules and queries themselves:
tests/unit/test_monitoring_rules.py.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from videoflix.devservices import free_port

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "videoflix.json"


def exported(text: str) -> set[str]:
    """The metric names in Prometheus text: samples' and HELP lines' (a counter without samples yet has its
    HELP line only; its samples are `<name>_total`)."""
    names = set(re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, re.M))
    return names | set(re.findall(r"^# HELP ([a-zA-Z_:][\w:]*) ", text, re.M))


def test_every_metric_an_alert_or_the_dashboard_reads_is_exported_by_the_running_stack(pipeline):
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    watched = {name for rule in rules for name in re.findall(r"\bvideoflix_\w+", rule["expr"])}
    assert watched  # the rules watch our own metrics, not only `up`
    panels = json.loads(DASHBOARD.read_text())["panels"]
    drawn = {name for panel in panels for target in panel.get("targets", [])
             for name in re.findall(r"\bvideoflix_\w+", target["expr"])}  # fmt: skip
    # a histogram's series are its name's _bucket, _sum and _count
    watched |= {re.sub(r"_(bucket|sum|count)$", "", name) for name in drawn}
    web = pipeline.api.removesuffix("/api") + "/metrics"
    texts = [urllib.request.urlopen(web, timeout=10).read().decode()]
    texts += [
        urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/metrics", timeout=10).read().decode()
        for w in pipeline.workers
        if w.proc.poll() is None
    ]
    names = set().union(*(exported(text) for text in texts))
    assert watched <= names, sorted(watched - names)


PROMETHEUS = shutil.which("prometheus")


def query(base: str, expression: str) -> dict:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    return json.loads(urllib.request.urlopen(url, timeout=10).read())


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is Debian's prometheus package")
def test_a_real_prometheus_scrapes_the_stack_and_runs_every_rule_and_panel(pipeline, tmp_path):
    """Prometheus itself (Debian's, as the compose file runs its image) scrapes the session's web process and
    workers, evaluates the alert rules (each healthy, none firing on a healthy stack) and answers every query of
    the dashboard; the ones that say whether the service is up answer with the stack as it is."""
    live = [w for w in pipeline.workers if w.proc.poll() is None]
    web = pipeline.api.removesuffix("/api").removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "videoflix-web", "static_configs": [{"targets": [web]}]},
            {"job_name": "videoflix-worker",
             "static_configs": [{"targets": [f"127.0.0.1:{w.web_port}" for w in live]}]},
        ],
    }  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # every target scraped at least twice (rates need two samples)
            try:
                up = query(base, "count_over_time(up[1m])")["data"]["result"]
                if len(up) == 1 + len(live) and all(float(r["value"][1]) >= 2 for r in up):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.5)
        assert float(query(base, 'sum(up{job="videoflix-worker"})')["data"]["result"][0]["value"][1]) == len(live)
        online = query(base, 'max(videoflix_workers{state="online"})')["data"]["result"]
        assert float(online[0]["value"][1]) == len(live)  # the census, read by the web tier
        panels = json.loads(DASHBOARD.read_text())["panels"]
        for expression in [t["expr"] for panel in panels for t in panel.get("targets", [])]:
            answer = query(base, expression)
            assert answer["status"] == "success", (expression, answer)
        time.sleep(2)  # a rule evaluation or two
        rules = json.loads(urllib.request.urlopen(f"{base}/api/v1/rules", timeout=10).read())["data"]["groups"]
        evaluated = {rule["name"]: rule for group in rules for rule in group["rules"]}
        assert len(evaluated) == len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])
        for name, rule in evaluated.items():
            assert rule["health"] == "ok", (name, rule.get("lastError"))
            assert rule["state"] == "inactive", (name, rule["alerts"])  # a healthy stack pages nobody
    finally:
        server.terminate()
        server.wait(30)
