"""The alert rules (deploy/prometheus/alerts.yml, issue 38) watch metrics the running stack really exports:
every `videoflix_*` name in a rule's expression is in the web tier's or a worker's /metrics, as Prometheus
would scrape them from the session's pipeline. (The rules themselves: tests/unit/test_monitoring_rules.py.)"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def exported(text: str) -> set[str]:
    """The metric names in Prometheus text: samples' and HELP lines' (a counter without samples yet has its
    HELP line only; its samples are `<name>_total`)."""
    names = set(re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, re.M))
    return names | set(re.findall(r"^# HELP ([a-zA-Z_:][\w:]*) ", text, re.M))


def test_every_metric_an_alert_watches_is_exported_by_the_running_stack(pipeline):
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    watched = {name for rule in rules for name in re.findall(r"\bvideoflix_\w+", rule["expr"])}
    assert watched  # the rules watch our own metrics, not only `up`
    web = pipeline.api.removesuffix("/api") + "/metrics"
    texts = [urllib.request.urlopen(web, timeout=10).read().decode()]
    texts += [
        urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/metrics", timeout=10).read().decode()
        for w in pipeline.workers
        if w.proc.poll() is None
    ]
    names = set().union(*(exported(text) for text in texts))
    assert watched <= names, sorted(watched - names)
