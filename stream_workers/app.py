"""The Faust application, configured from the same environment variables as the web tier.

Only the App lives here (Faust's recommended layout): records, topics and agents have their own modules,
listed in `autodiscover`, so importing this module never pulls in the rest. Nothing is read from the
environment at import: Faust configures an app on the first use of its `conf`, and `configure` (connected to
its `on_configured` signal, as Faust's docs advise) reads the settings then.
"""

from __future__ import annotations

import faust

from .settings import WorkerSettings


class WorkerApp(faust.App):
    """Faust's App with the workers' own settings beside its `conf`: one object every module asks."""

    _settings: WorkerSettings | None = None

    @property
    def settings(self) -> WorkerSettings:
        if self._settings is None:
            self._settings = WorkerSettings.from_environment()
        return self._settings

    @settings.setter
    def settings(self, value: WorkerSettings) -> None:
        self._settings = value


def broker_url(bootstrap_servers: str) -> str:
    """`host1:9092,host2:9092` (Kafka's form) -> `kafka://host1:9092;host2:9092` (Faust's form)."""
    hosts = [h.strip() for h in bootstrap_servers.replace(";", ",").split(",") if h.strip()]
    return "kafka://" + ";".join(hosts)


app = WorkerApp(
    "videoflix-workers",
    autodiscover=[
        "stream_workers.agents.transcode",
        "stream_workers.agents.encode_parts",
        "stream_workers.agents.further_ladders",
        "stream_workers.agents.results",
        "stream_workers.agents.captions",
        "stream_workers.relay",
        "stream_workers.watchdog",
        "stream_workers.sweep",
        "stream_workers.sealing",
        "stream_workers.health",
        "stream_workers.census",
    ],
    consumer_auto_offset_reset="earliest",  # a new group must not skip events published before it joined
    producer_acks=-1,
)


@app.on_configured.connect
def configure(app: WorkerApp, conf: faust.Settings, **kwargs) -> None:
    """Faust's settings from the workers' own, when the app is first configured."""
    settings = app.settings
    settings.datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last folder
    conf.broker = broker_url(settings.kafka_bootstrap_servers)
    conf.broker_credentials = settings.kafka_auth.credentials()  # consumer, producer and admin client alike
    conf.datadir = settings.datadir
    conf.web_host = conf.web_bind = settings.web_host  # Faust would bind 0.0.0.0 whatever the host
    conf.web_port = settings.web_port
    conf.canonical_url = f"http://{settings.web_host}:{settings.web_port}"
    conf.topic_partitions = settings.topic_partitions
    conf.broker_max_poll_interval = settings.longest_job
    conf.stream_processing_timeout = settings.longest_job
    # a killed worker's partitions (and its unacknowledged job) move to the others after this long; tansu
    # also holds a new member's first join for half of it. Heartbeats come from the consumer's own thread
    # (FFmpeg is a subprocess), at a third of it as Kafka advises, so a busy worker keeps its partitions.
    conf.broker_session_timeout = settings.session_timeout
    conf.broker_heartbeat_interval = settings.session_timeout / 3
