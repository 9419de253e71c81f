"""The Faust application, configured from the same environment variables as the web tier.

Only the App lives here (Faust's recommended layout): records, topics and agents get their own modules and
are listed in `autodiscover`, so importing this module never pulls in the rest.
"""

from __future__ import annotations

import os

import faust

from videoflix.config import read_dotenv

read_dotenv(os.getcwd())


def broker_url(bootstrap_servers: str) -> str:
    """`host1:9092,host2:9092` (Kafka's form) -> `kafka://host1:9092;host2:9092` (Faust's form)."""
    hosts = [h.strip() for h in bootstrap_servers.replace(";", ",").split(",") if h.strip()]
    return "kafka://" + ";".join(hosts)


app = faust.App(
    "videoflix-workers",
    broker=broker_url(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")),
    datadir=os.environ.get("FAUST_DATADIR", os.path.join("var", "faust")),
    web_host=os.environ.get("FAUST_WEB_HOST", "127.0.0.1"),
    web_port=int(os.environ.get("FAUST_WEB_PORT", "6066")),
    autodiscover=[],
)
