"""The workers authenticate to Kafka as configured, and refuse to feed an unauthenticated remote broker (issue 33,
item 8). No broker on these machines checks SCRAM (README, "Security"): these tests stop at what Faust hands
aiokafka; docker-compose.yml's broker and ACLs are checked in tests/unit/test_deployment.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stream_workers.broker_auth import BrokerAuth, all_loopback

SASL = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "videoflix-workers",
        "KAFKA_SASL_PASSWORD": "a-long-random-secret"}  # fmt: skip


@pytest.mark.parametrize(
    ("servers", "local"),
    [
        ("127.0.0.1:9092", True),
        ("localhost:9092, [::1]:9093", True),
        ("127.0.0.1:9092,kafka:9092", False),
        ("10.0.0.5:9092", False),
        ("kafka.internal:9092", False),
    ],
)
def test_loopback_is_this_host_only(servers, local):
    assert all_loopback(servers) is local


def test_a_remote_broker_without_credentials_is_refused_unless_said_explicitly():
    with pytest.raises(ValueError, match="not on this host and no credentials"):
        BrokerAuth.from_settings({}, "kafka:9092")
    assert BrokerAuth.from_settings({}, "127.0.0.1:9092").credentials() is None  # dev and tests: tansu
    explicit = BrokerAuth.from_settings({"KAFKA_SECURITY_PROTOCOL": "plaintext"}, "kafka:9092")
    assert explicit.protocol == "PLAINTEXT" and explicit.credentials() is None


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({**SASL, "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM must be one of"),
        ({**SASL, "KAFKA_SASL_MECHANISM": "PLAIN"}, "only over SASL_SSL"),
        ({**SASL, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "would not send them"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "client certificate"),
        ({**SASL, "KAFKA_SSL_CA_FILE": "/ca.pem"}, "does not use TLS"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERT_FILE": "/c.pem"}, "go together"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "must be one of PLAINTEXT"),
    ],
)
def test_incoherent_settings_refuse_to_start(env, reason):
    with pytest.raises(ValueError, match=reason):
        BrokerAuth.from_settings(env, "kafka:9092")


def test_the_password_may_come_from_a_file_a_secret_mounted_for_the_worker_alone(tmp_path):
    secret = tmp_path / "kafka_worker_password"
    secret.write_text("from-a-secret\n")
    env = {**SASL, "KAFKA_SASL_PASSWORD": "", "KAFKA_SASL_PASSWORD_FILE": str(secret)}
    assert BrokerAuth.from_settings(env, "kafka:9092").password == "from-a-secret"
    with pytest.raises(ValueError, match="not both"):
        BrokerAuth.from_settings({**env, "KAFKA_SASL_PASSWORD": "inline"}, "kafka:9092")
    with pytest.raises(ValueError, match="cannot be read"):
        BrokerAuth.from_settings({**env, "KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")}, "kafka:9092")
    secret.write_text("\n")
    with pytest.raises(ValueError, match="empty file"):
        BrokerAuth.from_settings(env, "kafka:9092")


def test_the_password_is_never_shown():
    auth = BrokerAuth.from_settings(SASL, "kafka:9092")
    assert SASL["KAFKA_SASL_PASSWORD"] not in repr(auth)
    assert SASL["KAFKA_SASL_PASSWORD"] not in repr(auth.credentials())


PROBE = """
import json
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from stream_workers.app import app
try:
    client = credentials_to_aiokafka_auth(app.conf.broker_credentials)
except ValueError as error:
    print(json.dumps({"refused": str(error)}))
else:
    print(json.dumps({key: value for key, value in client.items() if key != "ssl_context"}
                     | {"tls": client.get("ssl_context") is not None}))
"""


def configured_client(tmp_path, **env) -> dict:
    """What the configured Faust app gives aiokafka's consumer, producer and admin client."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    run = subprocess.run([sys.executable, "-c", PROBE], env={**clean, "FAUST_DATADIR": str(tmp_path / "f"), **env},
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_the_worker_hands_aiokafka_its_scram_login(tmp_path):
    client = configured_client(tmp_path, KAFKA_BOOTSTRAP_SERVERS="kafka:9092", **SASL)
    assert client == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "videoflix-workers",
        "sasl_plain_password": SASL["KAFKA_SASL_PASSWORD"],
        "tls": False,
    }
    over_tls = configured_client(tmp_path, **{**SASL, "KAFKA_BOOTSTRAP_SERVERS": "kafka:9093",
                                              "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})  # fmt: skip
    assert over_tls["security_protocol"] == "SASL_SSL" and over_tls["tls"] is True


def test_the_worker_refuses_a_remote_broker_it_cannot_authenticate_to(tmp_path):
    refused = configured_client(tmp_path, KAFKA_BOOTSTRAP_SERVERS="kafka:9092")
    assert "not on this host and no credentials" in refused["refused"]
    local = configured_client(tmp_path, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9092")
    assert local == {"security_protocol": "PLAINTEXT", "tls": False}


def test_the_census_clients_log_in_as_the_workers_faust_clients_do():
    """The census' own admin client and consumer (stream_workers/census.py) take the same login as aiokafka's
    options: SCRAM over plain TCP, over TLS, and none on a loopback broker."""
    scram = BrokerAuth.from_settings(SASL, "kafka:9092").client_options()
    assert scram == {"security_protocol": "SASL_PLAINTEXT", "ssl_context": None, "sasl_mechanism": "SCRAM-SHA-512",
                     "sasl_plain_username": "videoflix-workers",
                     "sasl_plain_password": SASL["KAFKA_SASL_PASSWORD"]}  # fmt: skip
    over_tls = BrokerAuth.from_settings({**SASL, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "kafka:9093").client_options()
    assert over_tls["security_protocol"] == "SASL_SSL" and over_tls["ssl_context"] is not None
    assert BrokerAuth.from_settings({}, "127.0.0.1:9092").client_options() == {
        "security_protocol": "PLAINTEXT", "ssl_context": None}  # fmt: skip
