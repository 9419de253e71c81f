"""A resumable upload through the real web process (waitress), interrupted mid-chunk and resumed by the tus
project's own Python client (tuspy), then transcoded by the workers."""

from __future__ import annotations

import base64
import http.client
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
from tusclient.client import TusClient

pytestmark = pytest.mark.integration

TUS = {"Tus-Resumable": "1.0.0"}


def cookie_header(client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies)


def tus_call(client, method: str, url: str, headers: dict[str, str], data: bytes | None = None):
    headers = {**TUS, "Cookie": cookie_header(client), "X-CSRFToken": client.csrf(), **headers}
    return urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=30)


def dropped_chunk(url: str, client, offset: int, chunk: bytes) -> None:
    """Send a PATCH that announces `chunk` whole but sends only its first half, then drop the connection."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.putrequest("PATCH", parts.path)
    headers = {**TUS, "Cookie": cookie_header(client), "X-CSRFToken": client.csrf(), "Upload-Offset": str(offset),
               "Content-Type": "application/offset+octet-stream", "Content-Length": str(len(chunk))}  # fmt: skip
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(chunk[: len(chunk) // 2])
    connection.sock.close()  # the network goes away mid-chunk


def test_an_interrupted_upload_resumes_where_it_stopped_and_becomes_ready(pipeline, media_files):
    client = pipeline.client()
    path = media_files["hd"]
    data = path.read_bytes()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"title": "Resumed over a bad line", "filename": path.name}.items())  # fmt: skip
    created = tus_call(client, "POST", pipeline.api + "/uploads/", {"Upload-Length": str(len(data)),
                                                                    "Upload-Metadata": meta})  # fmt: skip
    url = created.headers["Location"]
    first = 64 * 1024
    chunk = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert tus_call(client, "PATCH", url, chunk, data[:first]).headers["Upload-Offset"] == str(first)

    dropped_chunk(url, client, first, data[first : first + 256 * 1024])
    time.sleep(0.5)
    assert tus_call(client, "HEAD", url, {}).headers["Upload-Offset"] == str(first)  # the torn chunk left nothing

    # tuspy, given the upload's URL, asks for the offset and sends the rest in 64 KiB chunks
    tus = TusClient(pipeline.api + "/uploads/", headers={"Cookie": cookie_header(client), "X-CSRFToken": client.csrf()})
    uploader = tus.uploader(str(path), chunk_size=64 * 1024, url=url)
    assert uploader.offset == first
    uploader.upload()

    video_id = int(tus_call(client, "HEAD", url, {}).headers["X-Video-Id"])
    status = pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)
    assert (status["status"], status["title"]) == ("ready", "Resumed over a bad line")
    source = pipeline.media / pipeline.scalar("SELECT source_path FROM videos WHERE id = :id", id=video_id)
    assert source.read_bytes() == data
    assert not list((pipeline.media / "uploads").glob("tus-*"))
