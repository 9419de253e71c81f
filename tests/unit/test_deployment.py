"""docker-compose.yml, the Dockerfile and nginx.conf checked against the app's real entry points and settings
(Docker cannot run on the build machines; the commands themselves run in the integration tests)."""

from __future__ import annotations

import configparser
import importlib
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from videoflix.core import events
from videoflix.core.environment import COMPOSE, VARIABLES

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def production_ini() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "production.ini")
    return ini


def test_the_services_are_there(services):
    assert set(services) == {"postgres", "kafka", "topics", "migrate", "web", "worker", "nginx", "seaweedfs",
                             "storage-init", "prometheus", "grafana"}  # fmt: skip
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert not any("zookeeper" in name for name in services)


def test_web_runs_pserve_production_ini_on_the_port_nginx_uses(services):
    assert services["web"]["command"] == ["pserve", "production.ini"]
    listen = production_ini()["server:main"]["listen"]
    assert listen.endswith(":8000")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"server web:8000;", nginx)
    assert "127.0.0.1:8000/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_worker_runs_the_faust_app_and_scales(services):
    command = services["worker"]["command"]
    assert command[:3] == ["faust", "-A", "stream_workers.app"] and "worker" in command
    app = importlib.import_module("stream_workers.app").app
    assert isinstance(app, importlib.import_module("faust").App)
    worker = services["worker"]
    assert "ports" not in worker and "container_name" not in worker  # --scale worker=N needs neither
    port = worker["environment"]["FAUST_WEB_PORT"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(worker["healthcheck"]["test"])
    assert worker["environment"]["FAUST_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container network


def test_migrate_runs_alembic_with_production_ini(services):
    assert services["migrate"]["command"] == ["alembic", "-c", "production.ini", "upgrade", "head"]
    assert production_ini()["alembic"]["script_location"] == "%(here)s/alembic"
    assert (ROOT / "alembic" / "env.py").is_file()
    assert services["migrate"]["restart"] == "no"


def mounted_script(service: dict) -> Path:
    """The deploy/kafka/ script a service runs as its entrypoint (mounted read-only)."""
    (mount,) = [volume for volume in service["volumes"] if volume.startswith("./deploy/kafka/")]
    source, target, mode = mount.split(":")
    assert mode == "ro" and service["entrypoint"] == ["/bin/sh", target]
    return ROOT / source


def test_topics_match_the_pipeline_and_the_partition_count(services, compose):
    script = mounted_script(services["topics"]).read_text()
    topics = {value for value in vars(events).values() if isinstance(value, str) and value.startswith("videos.")}
    assert events.LADDER_PARTS in topics and len(topics) == 7
    assert set(re.findall(r"videos\.[a-z-]+", script)) == topics  # every topic the pipeline has, made
    partitions = int(re.search(r"--partitions (\d+)", script).group(1))
    assert partitions == int(compose["x-app"]["environment"]["TOPIC_PARTITIONS"])
    broker = mounted_script(services["kafka"]).read_text()
    assert partitions == int(re.search(r"^num\.partitions=(\d+)$", broker, re.M).group(1))
    assert partitions >= 8


def test_kafka_admits_only_authenticated_clients_and_the_workers_only_their_topics(services, compose):
    """Docker cannot run here, nor can Apache Kafka (README: what was tested where): the scripts are valid sh,
    the broker is deny-by-default over SCRAM, and the worker is the principal the ACLs name, with its password."""
    broker, setup = mounted_script(services["kafka"]), mounted_script(services["topics"])
    for script in (broker, setup):
        assert subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True).returncode == 0, script
    properties = dict(re.findall(r"^([a-z.]+)=(.*)$", broker.read_text(), re.M))
    listeners = dict(item.split("://") for item in properties["listeners"].split(","))
    assert set(listeners) == {"SASL_PLAINTEXT", "CONTROLLER"} and listeners["CONTROLLER"].startswith("localhost:")
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    worker = services["worker"]["environment"]
    assert worker["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and worker["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    principal = worker["KAFKA_SASL_USERNAME"]
    assert f"name={principal},password=$KAFKA_WORKER_PASSWORD" in broker.read_text()
    assert f"--allow-principal User:{principal}" in setup.read_text()
    assert f"--group {importlib.import_module('stream_workers.app').app.conf.id}" in setup.read_text()
    # the passwords are compose secrets, mounted only where named: the broker both, the setup the admin's, the
    # worker its own (KAFKA_SASL_PASSWORD_FILE); no environment holds one (.env goes to every app container)
    assert "KAFKA_WORKER_PASSWORD=$(cat /run/secrets/kafka_worker_password)" in broker.read_text()
    assert "KAFKA_ADMIN_PASSWORD=$(cat /run/secrets/kafka_admin_password)" in setup.read_text()
    assert services["kafka"]["secrets"] == ["kafka_admin_password", "kafka_worker_password"]
    assert services["topics"]["secrets"] == ["kafka_admin_password"]
    assert services["worker"]["secrets"] == ["kafka_worker_password"]
    assert worker["KAFKA_SASL_PASSWORD_FILE"] == "/run/secrets/kafka_worker_password"
    for name in ("web", "migrate", "nginx", "storage-init"):  # the web tier speaks no Kafka, holds no credential
        service = services[name]
        assert "secrets" not in service, name
        assert not any("KAFKA_SASL" in key or "PASSWORD" in key for key in service.get("environment", {})), name
    assert not any("KAFKA" in str(value) for value in compose["x-app"]["environment"].values() if "PASSWORD" in value)


def test_the_store_puts_only_its_gateway_on_the_network(services):
    (command,) = services["seaweedfs"]["command"]
    assert "-ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.ip.bind=0.0.0.0" in command  # run for real: test_store_network
    assert "-config_dir=/tmp " in command and "> /tmp/security.toml" in command


def test_every_variable_given_to_the_app_is_one_it_reads(services):
    known = {variable.name for variable in VARIABLES if variable.tiers != (COMPOSE,)}  # read by a tier
    for name in APP_SERVICES:
        unknown = set(services[name]["environment"]) - known
        assert not unknown, (name, unknown)


def test_start_order_waits_for_health(services):
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] in ("service_healthy", "service_completed_successfully"), (name, dependency)
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_media_is_one_shared_volume_where_every_service_expects_it(services, compose):
    media = compose["x-app"]["environment"]["MEDIA_ROOT"]
    assert production_ini()["app:main"]["videoflix.media_root"] == media
    for name in ("web", "worker"):
        assert f"media:{media}" in services[name]["volumes"], name
    assert f"media:{media}:ro" in services["nginx"]["volumes"]
    assert {"pgdata", "media", "kafkadata"} <= set(compose["volumes"])
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])


def test_nginx_serves_exactly_what_the_app_redirects_to(services, compose):
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    prefix = services["web"]["environment"]["ACCEL_REDIRECT_PREFIX"]
    block = re.search(r"location " + re.escape(prefix) + r" \{(.*?)\}", nginx, re.S)
    assert block and "internal;" in block.group(1)
    assert f"alias {compose['x-app']['environment']['MEDIA_ROOT']}/;" in block.group(1)
    assert "./deploy/nginx.conf:/etc/nginx/templates/default.conf.template:ro" in services["nginx"]["volumes"]


def test_the_image_runs_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'CMD ["pserve", "production.ini"]' in dockerfile
    for path in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for part in path.split():
            assert (ROOT / part).exists(), part


def test_every_folder_the_processes_write_is_theirs_in_the_image():
    """The image runs as `videoflix` in /app, which root owns: every folder a process writes must be set to one
    the image made and gave to that user (a worker makes a sealed film, or any film on S3, in its scratch
    folder; left at its default, var/scratch under /app, every job would fail)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    env = dict(re.findall(r"(\w+)=(\S+)", dockerfile.split("ENV", 1)[1].split("RUN", 1)[0]))
    made = re.search(r"mkdir -p ([^\\&]+)", dockerfile).group(1).split()
    assert "chown -R videoflix:videoflix /srv/videoflix" in dockerfile
    for variable in ("MEDIA_ROOT", "FAUST_DATADIR", "WORKER_SCRATCH"):
        assert env.get(variable) in made and env[variable].startswith("/srv/videoflix/"), variable


def test_nginx_keeps_metrics_internal():
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", nginx)


def test_s3_storage_is_a_profile_with_seaweedfs_signed_and_the_bucket_made_first(services, compose):
    """`COMPOSE_PROFILES=s3` + STORAGE_BACKEND=s3: SeaweedFS's image runs weed with the S3 gateway and one
    identity built from the environment (the same flags as devservices.SeaweedFS), `videoflix storage init`
    makes the bucket before web and workers start, and the app's settings name that store."""
    store, init = services["seaweedfs"], services["storage-init"]
    assert store["profiles"] == init["profiles"] == ["s3"]
    assert store["image"].startswith("chrislusf/seaweedfs:")
    command = " ".join(store["command"])
    assert "weed -config_dir=/tmp server" in command and "-s3 " in command and "-s3.config=/tmp/s3.json" in command
    assert "$$AWS_SECRET_ACCESS_KEY" in command and "-s3.port.iceberg=0" in command
    assert init["command"] == ["videoflix", "storage", "init", "--ini", "production.ini"]
    assert init["depends_on"] == {"seaweedfs": {"condition": "service_healthy"}}
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["storage-init"] == {
            "condition": "service_completed_successfully", "required": False
        }  # fmt: skip
    env = compose["x-app"]["environment"]
    assert env["S3_ENDPOINT_URL"] == "${S3_ENDPOINT_URL:-http://seaweedfs:8333}"
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "set $videoflix_store http://seaweedfs:8333;" in nginx  # the bucket location's store
    assert f"location /{env['S3_BUCKET'].split(':-')[1].rstrip('}')}/ {{" in nginx


def test_compose_has_no_default_database_password(compose):
    """The compose file had `${POSTGRES_PASSWORD:-videoflix}`: a deployment that forgot it ran on a password
    anyone knows. It is required now (`:?`), for the database and the URL the app connects with."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD:-" not in text
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD:?" in compose["x-app"]["environment"]["DATABASE_URL"]
