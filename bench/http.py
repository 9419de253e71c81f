"""HTTP benchmark: the catalog and its search at 10 000 ready videos (`--videos 100000` for the search
target), and authenticated segment serving vs. a static server.

    python bench/http.py [--videos 10000] [--requests 300] [--concurrency 4]

Starts PostgreSQL (embedded, or DATABASE_URL), seeds the ready videos (all pointing at one real HLS output
made by the workers' FFmpeg command), serves the app with `videoflix serve development.ini` (waitress), logs
in, and measures with keep-alive clients in threads:
- catalog: `GET /api/video/` (the full plain list the frontend reads) and `GET /api/video/?limit=50`:
  p50/p99 latency one request at a time, and requests/s with the given concurrency;
- search: `GET /api/video/?q=...&limit=20`, every request a query or page of its own (none answered from the
  catalog's cache): a title, a category prefix a third of the videos match, a word all match, a description
  word; p50/p99 one at a time (target: p99 < 50 ms at 100 000 videos);
- progress reports: `PUT /api/video/{id}/progress/`, each for another video (every one a write), per second
  at 1, `--concurrency` and 4x that many clients;
- segments: `GET /api/video/{id}/720p/000.ts` with the auth cookie, against `python -m http.server` serving the
  same file, side by side: MiB/s, requests/s and the ratio.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import sqlalchemy as sa

from bench.stack import web_stack
from stream_workers import ffmpeg_run, hls_output
from stream_workers.film_steps import FilmSteps
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip
from videoflix.cli.upload import Client
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.environment import normalize_database_url
from videoflix.core.media import ladder_for, probe
from videoflix.devservices import free_port, wait_for_port

OUTPUT = "videos/bench/hls-bench"


def seed(url: str, media: Path, count: int) -> None:
    out = media / OUTPUT
    out.mkdir(parents=True)
    clip = make_clip(media / "clip.mp4", seconds=6, size="1280x720")
    facts = probe(clip)
    rungs = ladder_for(facts.short_side)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(facts, rungs).single_pass(ffmpeg_exe(), clip, out)))
    renditions = hls_output.master_renditions(out, rungs)
    engine = sa.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO videos (title, description, category, status, source_path, hls_path,"
                " duration, width, height, renditions, created_at)"
                " SELECT 'Film ' || n, 'A film about the number ' || n,"
                " (ARRAY['Drama','Comedy','Documentary'])[n % 3 + 1],"
                " 'ready', 'x', :hls, 6.0, 1280, 720, CAST(:renditions AS jsonb),"
                " now() - n * interval '1 minute' FROM generate_series(1, :count) AS n"
            ),
            {
                "hls": OUTPUT,
                "renditions": json.dumps(renditions),
                "count": count,
            },
        )
        conn.execute(sa.text("ANALYZE videos"))
    engine.dispose()


class Keepalive:
    """One persistent HTTP/1.1 connection per thread."""

    def __init__(self, port: int, cookie: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Cookie": cookie} if cookie else {}

    def get(self, path: str) -> tuple[int, int]:
        return self.send("GET", path)

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, int]:
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        data = response.read()
        if response.status not in (200, 204):
            raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
        return response.status, len(data)


def latencies(port: int, cookie: str, path: str | list[str], n: int) -> list[float]:
    """Seconds per request, one at a time; `path` a list: each request its own (answers the catalog's cache
    has not seen)."""
    client = Keepalive(port, cookie)
    paths = path if isinstance(path, list) else [path] * (n + 1)
    client.get(paths[0])  # warm up
    times = []
    for one in paths[1 : n + 1]:
        started = time.perf_counter()
        client.get(one)
        times.append(time.perf_counter() - started)
    return times


def throughput(port: int, cookie: str, path: str, n: int, concurrency: int) -> tuple[float, float]:
    """(requests/s, MiB/s) for n requests spread over `concurrency` keep-alive clients."""
    sizes = []
    lock = threading.Lock()

    def work(count: int) -> None:
        client = Keepalive(port, cookie)
        for _ in range(count):
            _, size = client.get(path)
            with lock:
                sizes.append(size)

    threads = [threading.Thread(target=work, args=(n // concurrency,)) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return len(sizes) / seconds, sum(sizes) / 1024 / 1024 / seconds


def progress_writes(port: int, cookie: str, csrf: str, videos: list[int], n: int, concurrency: int) -> float:
    """Progress reports per second (PUT /api/video/{id}/progress/) from `concurrency` keep-alive clients, each
    report for another video of `videos`: every one a real write (a report for the same video within a
    second writes nothing)."""
    done = []
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "X-CSRFToken": csrf}

    def work(share: list[int]) -> None:
        client = Keepalive(port, cookie)
        for video in share:
            client.send("PUT", f"/api/video/{video}/progress/", b'{"position": 3.5}', headers)
            with lock:
                done.append(video)

    shares = [videos[i:n:concurrency] for i in range(concurrency)]
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done) / (time.perf_counter() - started)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-http-bench-"))
    work.chmod(0o755)
    media = work / "media"
    static = None
    try:
        env = {"MEDIA_ROOT": str(media), "SECRET_KEY": "h" * 48}
        with web_stack(
            work, "viewer@example.com", PASSWORD, env, prepare=lambda url: seed(url, media, args.videos)
        ) as stack:
            static_port = free_port()
            static = subprocess.Popen([sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1",
                                       "--directory", str(media / OUTPUT)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            wait_for_port("127.0.0.1", static_port, 60)
            measure(stack, static_port, media, args)
    finally:
        if static is not None:
            static.terminate()
            static.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def measure(stack, static_port: int, media: Path, args) -> None:
    port = stack.port
    client = Client(stack.api)
    client.login("viewer@example.com", PASSWORD)
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
    segment = media / OUTPUT / "720p" / "000.ts"

    print(
        f"{args.videos} ready videos; waitress (development.ini); {args.requests} requests per figure; "
        f"concurrency {args.concurrency}; {os.cpu_count()} cores"
    )
    print(f"\n{'catalog':<34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'body KiB':>10}")
    for label, path in [
        ("GET /api/video/ (full list)", "/api/video/"),
        ("GET /api/video/?limit=50", "/api/video/?limit=50"),
    ]:
        times = latencies(port, cookie, path, args.requests)
        rate, mib = throughput(port, cookie, path, args.requests, args.concurrency)
        print(
            f"{label:<34}{percentile(times, 50) * 1000:>9.1f}{percentile(times, 99) * 1000:>9.1f}"
            f"{rate:>9.0f}{mib * 1024 / rate:>10.0f}"
        )

    # search: every request a different query or page, so none is answered from the catalog's cache
    n = args.requests + 1
    picks = random.Random(7)  # noqa: S311 - which titles to look for, not a secret
    searches = {
        "?q=film <n> (a title), 20": [f"/api/video/?q=film+{picks.randint(1, args.videos)}&limit=20" for _ in range(n)],
        "?q=comed (1/3 match), 20": [f"/api/video/?q=comed&limit=20&offset={i}" for i in range(n)],
        "?q=film (all match), 20": [f"/api/video/?q=film&limit=20&offset={i}" for i in range(n)],
        "?q=numb 7 (description), 20": [f"/api/video/?q=numb+7{i}&limit=20" for i in range(n)],
    }
    print(f"\n{'search (' + str(args.videos) + ' videos)':<34}{'p50 ms':>9}{'p99 ms':>9}")
    worst = 0.0
    for label, paths in searches.items():
        times = latencies(port, cookie, paths, args.requests)
        worst = max(worst, percentile(times, 99))
        print(f"{label:<34}{percentile(times, 50) * 1000:>9.1f}{percentile(times, 99) * 1000:>9.1f}")
    print(f"search p99 {worst * 1000:.1f} ms  target < 50 ms: " + ("met" if worst < 0.05 else "MISSED"))

    # progress reports: what a player sends every few seconds, each a write (another video each time)
    csrf = next(c.value for c in client.cookies if c.name == "csrftoken")
    rounds = (1, args.concurrency, 4 * args.concurrency)
    per = min(args.videos // len(rounds), 4 * args.requests)
    ids = picks.sample(range(1, args.videos + 1), per * len(rounds))  # each report a video of its own: a write
    print(f"\n{'progress reports (PUT, writes)':<34}{'req/s':>9}")
    for k, concurrency in enumerate(rounds):
        rate = progress_writes(port, cookie, csrf, ids[k * per : (k + 1) * per], per, concurrency)
        print(f"{'concurrency ' + str(concurrency):<34}{rate:>9.0f}")

    print(f"\n{'segment ' + str(segment.stat().st_size // 1024) + ' KiB':<34}{'req/s':>9}{'MiB/s':>9}")
    app_rate, app_mib = throughput(port, cookie, "/api/video/1/720p/000.ts", args.requests, args.concurrency)
    static_rate, static_mib = throughput(static_port, "", "/720p/000.ts", args.requests, args.concurrency)
    print(f"{'videoflix (auth checked)':<34}{app_rate:>9.0f}{app_mib:>9.0f}")
    print(f"{'python -m http.server (static)':<34}{static_rate:>9.0f}{static_mib:>9.0f}")
    ratio = app_mib / static_mib
    print(f"\nsegments videoflix/static: {ratio:.2f}x  target >= 0.5: " + ("met" if ratio >= 0.5 else "MISSED"))


if __name__ == "__main__":
    sys.exit(main())
