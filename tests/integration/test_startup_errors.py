"""Clear errors for the first minute (issue 38): a port taken, a database or a broker that does not answer.
`videoflix dev`, `videoflix serve`, `pserve` and `videoflix user` say in one line what is wrong and what to do,
exit with an error status, print no traceback and no password, and leave nothing running."""

from __future__ import annotations

import shutil
import socket

import pytest

from videoflix.devservices import free_port, pgdata_location

from ..support.stack import PSERVE, VIDEOFLIX, with_port

pytestmark = pytest.mark.integration

SECRET = "not-for-the-log-42"


@pytest.fixture
def taken_port():
    """A loopback port another server listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


def said(command, timeout: float = 60) -> tuple[int, str]:
    """The command's exit status and what it printed."""
    status = command.proc.wait(timeout)
    return status, command.output


def one_clear_line(output: str, *words: str) -> None:
    assert "Traceback" not in output and SECRET not in output, output
    lines = [line for line in output.splitlines() if all(word in line for word in words)]
    assert len(lines) == 1, output


def test_videoflix_dev_on_a_taken_port_says_so_before_starting_anything(project, base_env, run_command, taken_port):
    dev = run_command([*VIDEOFLIX, "dev", "--port", str(taken_port)], project, base_env, "dev-port")
    status, output = said(dev, 30)
    assert status == 2
    one_clear_line(output, f"port {taken_port}", "in use", "--port")
    assert not (project / "var" / "pgdata").exists()  # nothing was started


@pytest.mark.parametrize("runner", ["videoflix serve", "pserve"])
def test_a_server_on_a_taken_port_says_so_in_one_line(project, base_env, run_command, database_url, taken_port, runner):
    env = {**base_env, "DATABASE_URL": database_url}
    if runner == "pserve":
        with_port(project / "development.ini", taken_port)
        argv = [*PSERVE, "development.ini"]
    else:
        argv = [*VIDEOFLIX, "serve", "development.ini", "--port", str(taken_port)]
    status, output = said(run_command(argv, project, env, "serve-port"))
    assert status != 0
    one_clear_line(output, f"port {taken_port}", "in use")


def test_videoflix_dev_with_a_database_that_does_not_answer_says_where_without_its_password(
    project, base_env, run_command
):
    url = f"postgresql://videoflix:{SECRET}@127.0.0.1:{closed_port()}/videoflix"
    env = {**base_env, "DATABASE_URL": url}
    dev = run_command([*VIDEOFLIX, "dev", "--port", str(free_port()), "--no-worker"], project, env, "dev-db")
    status, output = said(dev)
    assert status == 2
    one_clear_line(output, "the database at", "does not answer", "DATABASE_URL")


def test_videoflix_dev_whose_embedded_database_will_not_start_says_why_and_what_to_do(project, base_env, run_command):
    """The embedded PostgreSQL's data folder is not one it can start from (here: another PostgreSQL's, 9.6): the
    server refuses it; `videoflix dev` says so in one line with the server's own reason (its log's last
    FATAL), where the data and the log are, and what to do, instead of the wheel's dump of the log and a
    traceback."""
    pgdata = pgdata_location(project / "var" / "pgdata")
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("9.6\n")
    (pgdata / "postgresql.conf").write_text("")
    try:
        dev = run_command([*VIDEOFLIX, "dev", "--port", str(free_port()), "--no-worker"], project, base_env, "dev-pg")
        status, output = said(dev)
        fatal = [line for line in (pgdata / "log").read_text().splitlines() if "FATAL:" in line]
    finally:
        shutil.rmtree(pgdata.parent if pgdata.parent.name != "var" else pgdata, ignore_errors=True)
    assert status == 2 and fatal
    reason = fatal[-1].split("FATAL:", 1)[1].strip()
    one_clear_line(output, "the embedded PostgreSQL did not start", reason, str(pgdata), "DATABASE_URL")
    assert "Showing contents of postgres server log" not in output


def test_videoflix_dev_with_a_broker_that_does_not_answer_says_so(project, base_env, run_command, database_url):
    env = {**base_env, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}"}
    dev = run_command([*VIDEOFLIX, "dev", "--port", str(free_port()), "--no-worker"], project, env, "dev-broker")
    status, output = said(dev)
    assert status == 2
    one_clear_line(output, "no Kafka broker answers", "KAFKA_BOOTSTRAP_SERVERS")


def test_videoflix_user_with_a_database_that_does_not_answer_says_so(project, base_env, run_command):
    url = f"postgresql://videoflix:{SECRET}@127.0.0.1:{closed_port()}/videoflix"
    env = {**base_env, "DATABASE_URL": url}
    argv = [*VIDEOFLIX, "user", "create", "someone@example.com", "--password", "Long-enough-pass-42"]
    status, output = said(run_command(argv, project, env, "user-db"))
    assert status == 2
    one_clear_line(output, "the database at", "does not answer")
