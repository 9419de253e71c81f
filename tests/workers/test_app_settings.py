"""The worker's settings live on the Faust app, read from the environment when Faust configures it (not when
`stream_workers.app` is imported), and every module asks the app for them."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from stream_workers import jobs
from stream_workers.app import app
from videoflix.core.media import MediaInfo

PROBE = """
import json
from stream_workers.app import app
before = app.configured
from stream_workers import topics
conf = app.conf
print(json.dumps({
    "configured_at_import": before,
    "broker": [str(url) for url in conf.broker],
    "datadir": str(conf.datadir),
    "web": [conf.web_host, conf.web_bind, conf.web_port],
    "partitions": conf.topic_partitions,
    "session": [conf.broker_session_timeout, conf.broker_heartbeat_interval],
    "longest": [conf.broker_max_poll_interval, conf.stream_processing_timeout],
    "media_root": str(app.settings.media_root),
}))
"""


def test_faust_is_configured_from_the_environment_when_it_configures_the_app(tmp_path):
    env = {
        **os.environ,
        "FAUST_DATADIR": str(tmp_path / "a" / "b"),
        "KAFKA_BOOTSTRAP_SERVERS": "h1:9092, h2:9093",
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",  # remote and unauthenticated: said explicitly
        "KAFKA_SESSION_TIMEOUT": "9",
        "TOPIC_PARTITIONS": "3",
        "TRANSCODE_TIMEOUT": "100",
        "FAUST_WEB_PORT": "6123",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout)
    assert facts["configured_at_import"] is False  # importing the App reads nothing
    assert facts["broker"] == ["kafka://h1:9092", "kafka://h2:9093"]
    assert facts["datadir"] == env["FAUST_DATADIR"] and (tmp_path / "a").is_dir()
    assert facts["web"] == ["127.0.0.1", "127.0.0.1", 6123]
    assert facts["partitions"] == 3
    assert facts["session"] == [9.0, 3.0]
    assert facts["longest"] == [700.0, 700.0]
    assert facts["media_root"] == env["MEDIA_ROOT"]


def test_one_assignment_gives_every_module_other_settings(monkeypatch):
    film = MediaInfo(100.0, 1280, 720, 25.0, "h264", True)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, parts_from_seconds=200))
    assert not jobs.in_parts(film)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, parts_from_seconds=60))
    assert jobs.in_parts(film)
