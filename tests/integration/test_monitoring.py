"""The alert rules (deploy/prometheus/alerts.yml, issue 38) and the Grafana dashboard read metrics the running
stack really exports: every `videoflix_*` name in a rule's expression or a panel's query is in the web tier's
or a worker's /metrics, as Prometheus would scrape them from the session's pipeline. (The rules and queries themselves:
tests/unit/test_monitoring_rules.py.)"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
import yaml

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
