"""`videoflix dev` brings up the whole system, serves the account API with mails in its output, and stops
everything on Ctrl-C."""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.request

import psutil
import pytest

from videoflix.core.storage.s3 import s3_client
from videoflix.devservices import free_port
from videoflix.mail_sink import text_of

from ..support.stack import VIDEOFLIX, http, own_database

pytestmark = pytest.mark.integration


def activation_path(output: str, email: str) -> str:
    """The API path of the activation link in a mail (printed in `output`, or the mail's text)."""
    block = output[output.index(f"MAIL to {email}") :] if "MAIL to" in output else output
    uid, token = re.search(r"activate\.html\?uid=([\w-]+)&token=([\w-]+)", block).groups()
    return f"/api/activate/{uid}/{token}/"


def pgdata_processes(pgdata: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if pgdata in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.fixture
def dev_database(database_url):
    """A database of its own on the test server: `videoflix dev` commits for real."""
    with own_database(database_url, "videoflix_dev_command") as url:
        yield url


def test_dev_with_configured_services(project, base_env, run_command, dev_database, broker, mailbox):
    port = free_port()
    env = {
        **base_env,
        "DATABASE_URL": dev_database,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mailbox.port),
    }
    dev = run_command([*VIDEOFLIX, "dev", "--port", str(port)], project, env, "dev")

    dev.wait_for(r"Ctrl-C stops everything", 90)
    assert "Database  DATABASE_URL (configured)" in dev.output
    assert f"Broker    {broker.bootstrap_servers} (configured)" in dev.output
    assert f"Mail      127.0.0.1:{mailbox.port} (configured)" in dev.output

    api = f"http://127.0.0.1:{port}"
    status, body = http(
        "POST",
        f"{api}/api/register/",
        {"email": "dev@example.com", "password": "Corr3ct-horse", "confirmed_password": "Corr3ct-horse"},
    )
    assert (status, body["user"]["email"]) == (201, "dev@example.com")
    [mail] = mailbox.wait_for(1)  # delivered to the configured server, not printed
    assert mail["To"] == "dev@example.com" and "MAIL to" not in dev.output
    status, body = http("GET", api + activation_path(text_of(mail), "dev@example.com"))
    assert (status, body) == (200, {"message": "Account successfully activated."})
    status, body = http("POST", f"{api}/api/login/", {"email": "dev@example.com", "password": "Corr3ct-horse"})
    assert status == 200

    dev.wait_for(r"\[\^Worker\]: Ready", 120)  # the Faust worker joined its group on the broker
    children = dev.descendants()
    assert any("stream_workers.app" in " ".join(c.cmdline()) for c in children)

    assert dev.interrupt() == 0
    assert "stopping" in dev.output
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def test_dev_with_s3_storage_starts_seaweedfs_with_its_bucket_and_stops_it(
    project, base_env, run_command, dev_database, broker, mailbox
):
    port = free_port()
    env = {**base_env, "DATABASE_URL": dev_database, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(mailbox.port)}  # fmt: skip
    dev = run_command([*VIDEOFLIX, "dev", "--storage", "s3", "--no-worker", "--port", str(port)], project, env, "dev")

    dev.wait_for(r"Ctrl-C stops everything", 90)
    endpoint = re.search(r"Storage   SeaweedFS S3 on (http://127\.0\.0\.1:\d+), bucket videoflix", dev.output).group(1)
    secret = (project / "var" / "s3_secret_key").read_text().strip()
    assert len(secret) >= 32 and (project / "var" / "s3_secret_key").stat().st_mode & 0o077 == 0
    client = s3_client(endpoint, "videoflix-dev", secret)
    client.put_object(Bucket="videoflix", Key="probe.txt", Body=b"hello")  # the bucket exists; signed requests work
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{endpoint}/videoflix/probe.txt")
    assert unsigned.value.code == 403  # anonymous reads are refused
    weed = [c for c in dev.descendants() if "weed" in " ".join(c.cmdline())]
    assert weed and (project / "var" / "seaweedfs").is_dir()

    assert dev.interrupt() == 0
    _, alive = psutil.wait_procs(weed, timeout=30)
    assert alive == []


def test_dev_starts_embedded_services_keeps_data_and_stops_them(project, base_env, run_command):
    port = free_port()
    argv = [*VIDEOFLIX, "dev", "--port", str(port), "--no-worker"]
    dev = run_command(argv, project, base_env, "embedded")

    dev.wait_for(r"Ctrl-C stops everything", 120)
    assert f"embedded PostgreSQL, data in {project / 'var' / 'pgdata'}" in dev.output
    broker = re.search(r"tansu on 127\.0\.0\.1:(\d+)", dev.output)
    assert broker
    api = f"http://127.0.0.1:{port}"
    body = {"email": "kept@example.com", "password": "Corr3ct-horse", "confirmed_password": "Corr3ct-horse"}
    assert http("POST", f"{api}/api/register/", body)[0] == 201
    dev.wait_for(r"MAIL to kept@example.com", 30)
    dev.wait_for(r"activate\.html\?uid=[\w-]+&token=[\w-]+", 10)
    assert http("GET", api + activation_path(dev.output, "kept@example.com"))[0] == 200
    children = dev.descendants()
    assert any("tansu" in " ".join(c.cmdline()) for c in children)

    assert dev.interrupt() == 0
    psutil.wait_procs(children, timeout=10)
    assert not any(c.is_running() for c in children)
    assert pgdata_processes(str(project / "var" / "pgdata")) == []  # PostgreSQL stopped too

    # a second run finds the same data: the activated account still logs in
    again = run_command(argv, project, base_env, "embedded-again")
    again.wait_for(r"Ctrl-C stops everything", 120)
    login = {"email": "kept@example.com", "password": body["password"]}
    assert http("POST", f"{api}/api/login/", login)[0] == 200
    # stopped as `timeout` or a supervisor may stop it: SIGTERM, and again while it cleans up (`timeout` sends
    # it to the command and to its process group): a clean stop, no traceback
    again.proc.send_signal(signal.SIGTERM)
    again.wait_for(r"stopping \.\.\.", 30)
    again.proc.send_signal(signal.SIGTERM)
    assert again.proc.wait(90) == 0, again.output[-3000:]
    assert "Traceback" not in again.output, again.output[-3000:]
    assert pgdata_processes(str(project / "var" / "pgdata")) == []


def test_dev_refuses_a_missing_ini(tmp_path, base_env, run_command):
    dev = run_command([*VIDEOFLIX, "dev"], tmp_path, base_env, "no-ini")
    assert dev.proc.wait(60) == 2
    assert "no settings file" in dev.output
