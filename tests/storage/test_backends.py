"""One contract, two backends: the local folder and S3 on a real SeaweedFS (signed requests), each test on an
empty store. What the web tier and the workers rely on behaves the same on both."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from videoflix.core.storage import BadKey, StorageUnavailable
from videoflix.core.storage.local import LocalStorage
from videoflix.core.storage.s3 import S3Storage, s3_client
from videoflix.devservices import free_port

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    seaweedfs, bucket = request.getfixturevalue("seaweedfs"), request.getfixturevalue("bucket")
    return S3Storage(seaweedfs.client(), bucket)


def joined(chunks) -> bytes:
    return b"".join(chunks)


def test_an_object_is_stored_described_and_read_whole_or_in_part(store):
    data = os.urandom(300_000)
    assert store.info("videos/1/hls-a/720p/000.ts") is None
    store.put_bytes("videos/1/hls-a/720p/000.ts", data, "video/mp2t")
    info = store.info("videos/1/hls-a/720p/000.ts")
    assert info.size == len(data) and info.etag.startswith('"') and info.modified > time.time() - 60
    assert joined(store.read("videos/1/hls-a/720p/000.ts")) == data
    assert joined(store.read("videos/1/hls-a/720p/000.ts", 1000, 1999)) == data[1000:2000]
    assert joined(store.read("videos/1/hls-a/720p/000.ts", 299_990)) == data[299_990:]
    store.put_bytes("videos/1/hls-a/720p/000.ts", data[::-1])
    assert store.info("videos/1/hls-a/720p/000.ts").etag != info.etag  # a replaced object gets a new tag


def test_an_object_opened_in_one_request_comes_with_its_facts(store):
    data = os.urandom(2 * 2**20 + 5)  # more than one chunk
    store.put_bytes("videos/1/hls-a/720p/001.ts", data)
    assert store.open("videos/1/hls-a/720p/002.ts") is None
    opened = store.open("videos/1/hls-a/720p/001.ts")
    assert opened.info == store.info("videos/1/hls-a/720p/001.ts")  # the same facts as a HEAD's
    assert joined(opened) == data
    opened.close()
    unread = store.open("videos/1/hls-a/720p/001.ts")
    unread.close()  # closed without reading: nothing left open, the next request works
    assert joined(store.open("videos/1/hls-a/720p/001.ts")) == data
    with pytest.raises(BadKey):
        store.open("videos/../../etc/passwd")


def test_files_go_in_and_come_back_whole(store, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(9 * 2**20 + 17))  # past boto3's multipart threshold (8 MiB)
    store.put_file("videos/2/source.mp4", source, "video/mp4")
    back = tmp_path / "back.bin"
    store.download("videos/2/source.mp4", back)
    assert back.read_bytes() == source.read_bytes()
    assert store.info("videos/2/source.mp4").size == source.stat().st_size


def test_listing_and_deleting_by_prefix_touch_only_that_prefix(store):
    for key in ("videos/3/a.ts", "videos/3/sub/b.ts", "videos/30/c.ts", "videos/4/d.ts"):
        store.put_bytes(key, b"x")
    assert sorted(store.keys("videos/3/")) == ["videos/3/a.ts", "videos/3/sub/b.ts"]  # not videos/30/
    assert store.delete_prefix("videos/3/") == 2
    assert sorted(store.keys("videos/")) == ["videos/30/c.ts", "videos/4/d.ts"]
    store.delete("videos/4/d.ts")
    store.delete("videos/4/d.ts")  # deleting what is gone is not an error
    assert list(store.keys("videos/")) == ["videos/30/c.ts"]


@pytest.mark.parametrize("key", ["../escape", "/abs/path", "a//b", "a/./b", "a/../b", "a\\b", "a\x00b", "", "a/"])
def test_keys_that_could_leave_the_root_are_refused(store, key, tmp_path):
    with pytest.raises(BadKey):
        store.put_bytes(key, b"x")
    with pytest.raises(BadKey):
        store.info(key)
    assert not (tmp_path / "escape").exists()


def test_a_folder_prefix_must_be_a_folder(store):
    with pytest.raises(BadKey):
        store.delete_prefix("videos/3")  # would also match videos/30/...


#: a presigned URL's life in the test: long enough that a busy machine still fetches it before its end (at 1 s,
#: a run beside a benchmark was refused), short enough to wait out
EXPIRES = 3


def test_presigned_urls_let_anyone_get_the_object_until_they_expire(store):
    store.put_bytes("videos/5/thumb.jpg", b"jpeg bytes")
    url = store.presigned_url("videos/5/thumb.jpg", expires=EXPIRES)
    if store.backend == "local":
        assert url is None  # nginx serves local files (X-Accel or signed links), not the store
        return
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"jpeg bytes"
    time.sleep(EXPIRES + 1.1)  # past the expiry
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)
    assert refused.value.code == 403


@pytest.mark.integration
def test_wrong_credentials_are_refused_as_an_unavailable_store(seaweedfs, bucket):
    wrong = S3Storage(s3_client(seaweedfs.endpoint_url, S3_ACCESS_KEY, "not-the-secret"), bucket)
    with pytest.raises(StorageUnavailable, match=r"SignatureDoesNotMatch|AccessDenied"):
        wrong.put_bytes("videos/6/x.ts", b"x")
    with pytest.raises(StorageUnavailable):
        wrong.info("videos/6/x.ts")


def test_a_store_that_is_down_fails_fast_as_unavailable():
    down = S3Storage(s3_client(f"http://127.0.0.1:{free_port()}", S3_ACCESS_KEY, S3_SECRET_KEY), "videoflix")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        down.put_bytes("videos/7/x.ts", b"x")
    assert time.monotonic() - started < 15


def test_local_writes_are_whole_or_absent(tmp_path, monkeypatch):
    store = LocalStorage(tmp_path)

    def fail(source, target):
        Path(target).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr("shutil.copyfile", fail)
    source = tmp_path / "in.bin"
    source.write_bytes(b"whole file")
    with pytest.raises(OSError, match="disk full"):
        store.put_file("videos/8/source.mp4", source)
    assert store.info("videos/8/source.mp4") is None and list(store.keys("videos/")) == []
