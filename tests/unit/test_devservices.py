"""Where `videoflix dev` keeps PostgreSQL's data, and the helpers that start and stop its children."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest

from videoflix.devservices import free_port, pgdata_location, spawn, stop_process, wait_for_port


@pytest.mark.skipif(os.geteuid() != 0, reason="the relocation only applies when running as root")
def test_pgdata_under_a_closed_folder_moves_out_as_root(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    chosen = pgdata_location(closed / "project" / "var" / "pgdata")
    assert str(chosen).startswith("/var/lib/videoflix/") and chosen.name == "pgdata"
    assert chosen == pgdata_location(closed / "project" / "var" / "pgdata")  # stable between runs
    assert oct(closed.stat().st_mode & 0o777) == "0o700"  # and nothing was widened


def test_pgdata_in_an_open_folder_stays():
    folder = Path(tempfile.mkdtemp(prefix="videoflix-open-"))  # /tmp is open to all; the folder made so
    try:
        folder.chmod(0o755)
        assert pgdata_location(folder / "var" / "pgdata") == folder / "var" / "pgdata"
    finally:
        folder.rmdir()


def test_stop_process_escalates_to_kill(tmp_path):
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    )
    log = tmp_path / "child.log"
    proc = spawn([sys.executable, "-c", stubborn], log)
    while "up" not in log.read_text():
        time.sleep(0.05)
    started = time.monotonic()
    assert stop_process(proc, timeout=1) == -9
    assert time.monotonic() - started < 10


def test_wait_for_port_notices_a_dead_process():
    with pytest.raises(RuntimeError, match="exited"):
        wait_for_port("127.0.0.1", free_port(), 5, alive=lambda: False)


def test_a_service_that_exits_before_listening_is_reported_with_the_end_of_its_log(tmp_path):
    log = tmp_path / "service.log"
    log.write_text("starting\n" + "".join(f"line {n}\n" for n in range(10)) + "listen: address already in use\n")
    with pytest.raises(
        RuntimeError, match=r"(?s)exited; the end of .*service\.log:\n.*address already in use"
    ) as raised:
        wait_for_port("127.0.0.1", free_port(), 5, alive=lambda: False, log=log)
    assert "starting" not in str(raised.value)  # its end, not all of it


def test_wait_for_port_times_out():
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", free_port(), 0.5)


def test_a_dev_secret_is_created_private_from_its_first_byte(tmp_path, monkeypatch):
    """Created 0600 by the call that creates it (whatever the umask), never written loose and chmod-ed later."""
    from videoflix.cli.dev import dev_secret

    created = []
    real_open = os.open

    def recording_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append((os.path.basename(path), mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    old = os.umask(0)
    try:
        secret = dev_secret(tmp_path / "secret_key")
    finally:
        os.umask(old)
    assert len(secret) >= 64 and dev_secret(tmp_path / "secret_key") == secret
    assert created and all(mode == 0o600 for _, mode in created)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_a_loose_secret_file_is_tightened_and_said(tmp_path, caplog):
    from videoflix.cli.dev import dev_secret
    from videoflix.devservices import write_private

    loose = tmp_path / "secret_key"
    loose.write_text("an-older-secret")
    loose.chmod(0o644)
    assert dev_secret(loose) == "an-older-secret"
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    assert any("tightened" in record.getMessage() for record in caplog.records)

    config = tmp_path / "s3.json"  # the store's credentials file, rewritten at every start
    config.write_text("{}")
    config.chmod(0o666)
    write_private(config, '{"identities": []}')
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and config.read_text() == '{"identities": []}'


def test_the_first_stop_signal_ignores_the_next_before_the_clean_up_starts():
    """A second SIGTERM that comes while `videoflix dev` says "stopping ..." must not raise again (CI saw it
    end the clean-up in a traceback): the first signal's handler ignores both stop signals before it raises."""
    import signal

    from videoflix.cli.dev import _interrupt

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here, between two bytecodes of this thread
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: nothing raises, the process lives on
        time.sleep(0.1)
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
