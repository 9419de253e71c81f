"""Nothing lost under faults: the broker, a worker, the web process or the database go away mid-run, the
disk fills up, workers scale out and one stops; every accepted upload still ends `ready` exactly once (or
`failed` with a reason where nothing playable can be made).

The scenarios share one stack of real parts of their own: an embedded PostgreSQL that can be restarted, a
tansu broker, the web process (`videoflix serve`) and Faust workers running FFmpeg. Each scenario adds a row
to the report printed at the end of the run (scenario, uploads, ready, failed, lost, duplicates).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from videoflix.core.environment import normalize_database_url
from videoflix.devservices import EmbeddedPostgres, TansuBroker, free_port, upgrade_database
from videoflix.mail_sink import MailSink

from ..support.accounts import PASSWORD
from ..support.clips import video_timestamps
from ..support.stack import FAULT_REPORT, VIDEOFLIX, Pipeline, http, new_project, stack_env

pytestmark = [pytest.mark.integration, pytest.mark.faults]

WORKER_READY = r"\[\^Worker\]: Ready"


class FaultStack(Pipeline):
    """The pipeline with handles on what the scenarios break: the database server and the web process."""

    database: EmbeddedPostgres
    web_port: int
    web = None

    def start_web(self) -> None:
        self.web = self.run([*VIDEOFLIX, "serve", str(self.folder / "development.ini"), "--port", str(self.web_port)],
                            f"web-{len(self.commands)}")  # fmt: skip
        self.web.listening(self.web_port, 60)

    def live_workers(self):
        return [w for w in self.workers if w.proc.poll() is None]

    def ensure_workers(self, count: int) -> None:
        started = [self.start_worker() for _ in range(count - len(self.live_workers()))]
        for worker in started:
            worker.wait_for(WORKER_READY, 180)
        if started:
            time.sleep(3)  # let the others settle into the new assignment

    def transcoded(self, video_id: int) -> int:
        """How many times any worker (alive or killed) finished a transcode of the video."""
        return sum(len(re.findall(rf"video {video_id} transcoded", w.output)) for w in self.workers)

    def settle(self, client, ids: list[int], timeout: float) -> dict[int, dict]:
        """Each video's status once all are ready/failed, or when the time is up (the rest count as lost)."""
        deadline = time.monotonic() + timeout
        final: dict[int, dict] = {}
        while time.monotonic() < deadline and len(final) < len(ids):
            for video_id in ids:
                if video_id not in final:
                    status = client.status(video_id)
                    if status["status"] in ("ready", "failed"):
                        final[video_id] = status
            time.sleep(0.5)
        return final

    def report(self, scenario: str, ids: list[int], final: dict[int, dict]) -> dict[str, int]:
        row = {
            "scenario": scenario,
            "uploads": len(ids),
            "ready": sum(1 for s in final.values() if s["status"] == "ready"),
            "failed": sum(1 for s in final.values() if s["status"] == "failed"),
            "lost": len(ids) - len(final),
            "duplicates": sum(1 for video_id in ids if self.transcoded(video_id) > 1),
        }
        FAULT_REPORT.append(row)
        return row

    def leftovers(self, ids: list[int]) -> list[Path]:
        """Unfinished work folders, and output folders beyond the one each video serves."""
        found = []
        for video_id in ids:
            folder = self.media / "videos" / str(video_id)
            found += list(folder.glob(".work-*"))
            found += list(folder.glob("hls-*"))[1:]
        return found


@pytest.fixture(scope="module")
def stack(media_files):
    folder = new_project()
    (folder / "media").mkdir()
    database = EmbeddedPostgres(folder / "pgdata", database="videoflix_faults")
    broker = TansuBroker(log_path=folder / "tansu.log")
    try:
        url = database.start()
        upgrade_database(url)
        broker.start()
        env = stack_env(
            folder,
            url,
            broker,
            REQUEUE_AFTER="15",  # the watchdog heals within the scenarios' waits
            KAFKA_SESSION_TIMEOUT="10",  # a killed worker's partitions move on within seconds
            PARTS_FROM_SECONDS="66",  # media_files["film"] (72 s) is spread over the workers in 8 s parts
            PART_SECONDS="8",
            EMAIL_PORT=str(free_port()),  # no SMTP server there until a scenario starts one
            MAIL_RETRY_SECONDS="1",
        )
        line = FaultStack(folder, env, normalize_database_url(url), broker, "")
        line.database = database
        line.long_clip = media_files["long"]
        line.web_port = free_port()
        line.api = f"http://127.0.0.1:{line.web_port}/api"
        made = line.run([*VIDEOFLIX, "user", "create", "--staff", "operator@example.com", "--password", PASSWORD,
                         "--ini", str(folder / "development.ini")], "user-create")  # fmt: skip
        assert made.proc.wait(60) == 0, made.output
        line.start_web()
        line.ensure_workers(1)
        yield line
        for command in line.commands:
            command.kill()
        line.engine.dispose()
    finally:
        broker.stop()
        database.stop()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(database.pgdata, ignore_errors=True)


def upload_many(client, clip: Path, count: int, title: str) -> list[int]:
    return [client.upload(clip, {"title": f"{title} {n}"})["id"] for n in range(count)]


def test_broker_down_20_uploads_all_end_ready_once(stack, media_files):
    client = stack.client()
    stack.broker.stop()
    try:
        ids = upload_many(client, media_files["small"], 20, "Outage")  # every one 201 while the broker is down
        assert stack.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") >= 20
    finally:
        stack.broker.start()  # a fresh broker: it has forgotten every topic and offset

    final = stack.settle(client, ids, 300)
    row = stack.report("broker down during 20 uploads", ids, final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (20, 0, 0), row
    assert stack.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert not stack.leftovers(ids)


def test_web_killed_right_after_an_upload_commits(stack, media_files):
    client = stack.client()
    video_id = client.upload(media_files["small"], {"title": "Web dies"})["id"]  # 201: committed
    stack.web.kill()  # SIGKILL, before it could do anything more
    stack.start_web()

    final = stack.settle(stack.client(), [video_id], 120)
    row = stack.report("web killed after commit", [video_id], final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (1, 0, 0), row


def test_database_restarted_while_workers_run(stack, media_files):
    client = stack.client()
    ids = upload_many(client, media_files["hd"], 3, "Database restart")
    stack.wait_for_status(client, ids[0], {"processing", "ready"}, 120)
    stack.database.stop()  # connections drop; the workers' progress and results cannot be written
    time.sleep(5)
    stack.database.start()

    final = stack.settle(client, ids, 240)
    row = stack.report("database restarted mid-run", ids, final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (3, 0, 0), row
    assert not stack.leftovers(ids)


def test_mail_server_down_the_activation_mail_arrives_when_it_is_back(stack):
    body = {"email": "later@example.com", "password": "Cobalt-Harbor-93", "confirmed_password": "Cobalt-Harbor-93",
            "privacy_policy": True}  # fmt: skip
    status, _ = http("POST", f"{stack.api}/register/", body)
    assert status == 201
    deadline = time.monotonic() + 30
    while not stack.scalar("SELECT max(attempts) FROM mail_outbox") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.scalar("SELECT last_error FROM mail_outbox")  # refused, and kept

    sink = MailSink(port=int(stack.env["EMAIL_PORT"])).start()
    try:
        [mail] = sink.wait_for(1, timeout=60)  # the web process's retry round sends it
        deadline = time.monotonic() + 10
        while stack.scalar("SELECT count(*) FROM mail_outbox") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # a second retry round, were the row still there
    finally:
        sink.stop()
    assert mail["To"] == "later@example.com" and "/pages/auth/activate.html?uid=" in mail.get_body().get_content()
    assert stack.scalar("SELECT count(*) FROM mail_outbox") == 0, stack.web.output[-3000:]
    assert len(sink.messages) == 1  # delivered once


def long_job_started(stack, title: str) -> tuple[object, int, object]:
    """Upload the long clip with two workers running; (client, video id, the worker whose FFmpeg runs it),
    a moment into the job."""
    stack.ensure_workers(2)
    client = stack.client()
    video_id = client.upload(stack.long_clip, {"title": title})["id"]
    deadline = time.monotonic() + 120
    while (owner := ffmpeg_owner(stack.live_workers())) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert owner is not None, "no worker started FFmpeg"
    # its first FFmpeg may be one that examines the source (loudness, interlacing) before the transcode
    # reports the job started: on a loaded machine that report came after a fixed wait
    while client.status(video_id)["status"] not in {"processing", "playable"} and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # well inside the job
    return client, video_id, owner


def ffmpeg_owner(workers, argument: str = "") -> object | None:
    """The worker whose FFmpeg is running right now (with `argument` in its command line)."""
    for worker in workers:
        for child in psutil.Process(worker.proc.pid).children(recursive=True):
            try:
                if child.name().startswith("ffmpeg") and (not argument or argument in child.cmdline()):
                    return worker
            except psutil.NoSuchProcess:
                continue
    return None


def test_worker_killed_mid_transcode_another_finishes(stack):
    client, video_id, victim = long_job_started(stack, "Worker dies")
    # mid-transcode: still processing, or already playable (its first segments out) but not ready
    assert client.status(video_id)["status"] in {"processing", "playable"}
    victim.kill()  # SIGKILL to the worker and its FFmpeg

    final = stack.settle(client, [video_id], 240)
    row = stack.report("worker killed mid-transcode", [video_id], final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (1, 0, 0), row
    assert not stack.leftovers([video_id])  # the killed job's .work-* folder is gone
    output = stack.media / stack.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    for rendition in final[video_id]["resolutions"]:
        assert "#EXT-X-ENDLIST" in (output / rendition / "index.m3u8").read_text()


def test_worker_killed_during_the_av1_pass_the_film_still_gets_its_av1_verdict(stack, media_files):
    """A film is ready (H.264), and a worker is SIGKILLed while SVT-AV1 makes a part of its AV1 ladder. The
    part's claim goes stale; its job, redelivered to the other worker, or the watchdog's re-queue of the
    film, runs it again there in the same output (not a new transcode); the film ends with its verdict once."""
    stack.ensure_workers(2)
    client = stack.client()
    video_id = client.upload(media_files["hd"], {"title": "Dies making AV1"})["id"]
    deadline = time.monotonic() + 180
    while (owner := ffmpeg_owner(stack.live_workers(), "libsvtav1")) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert owner is not None, "no worker started the AV1 pass"
    while (ready := client.status(video_id))["status"] != "ready" and time.monotonic() < deadline:
        time.sleep(0.1)  # (the ready report reaches the database through the broker)
    assert ready["status"] == "ready" and not any("av1" in r for r in ready["renditions"]), ready
    assert ffmpeg_owner([owner], "libsvtav1") is owner  # still making it
    hls_path = stack.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    owner.kill()  # SIGKILL to the worker and its FFmpeg

    final = stack.wait_for_ladder(client, video_id, 240)
    assert final["status"] == "ready" and all("quality" in r["av1"] for r in final["renditions"]), final
    assert stack.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id) == hls_path  # the same output
    row = stack.report("worker killed during the AV1 pass", [video_id], {video_id: final})
    assert (row["ready"], row["lost"], row["duplicates"]) == (1, 0, 0), row  # its H.264 ladder was made once
    master = (stack.media / hls_path / "master.m3u8").read_text()
    listed = final["renditions"][0]["av1"]["listed"]
    assert master.count("av1/480p/index.m3u8") == int(listed), master
    assert (stack.media / hls_path / "av1").exists() == listed  # nothing of the dead pass kept unnamed
    assert not stack.leftovers([video_id])


def test_worker_stopped_mid_job_hands_it_over_not_half_done(stack):
    """What `docker compose stop worker` does: SIGTERM while FFmpeg runs. Faust lets the running job finish
    before it stops (a job longer than the grace period ends in SIGKILL: the scenario above); either way the
    job is done once and whole, and nothing half-done stays behind."""
    client, video_id, stopping = long_job_started(stack, "Worker stopped")
    stopping.proc.send_signal(signal.SIGTERM)
    assert stopping.proc.wait(60) is not None
    assert not list((stack.media / "videos" / str(video_id)).glob(".work-*"))  # nothing half-done left behind

    final = stack.settle(client, [video_id], 240)
    row = stack.report("worker stopped (SIGTERM) mid-job", [video_id], final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (1, 0, 0), row
    assert not stack.leftovers([video_id])


def test_worker_killed_mid_part_the_film_in_parts_still_ends_whole(stack, media_files):
    """A film spread over two workers; one is SIGKILLed while its FFmpeg encodes a part. Its partitions move
    to the other worker; the part it held (claimed, no longer renewed) runs again there, through the
    redelivered job or the watchdog's resumed plan; the parts already done are kept, not encoded again."""
    stack.ensure_workers(2)
    client = stack.client()
    video_id = client.upload(media_files["film"], {"title": "Worker dies mid-part"})["id"]
    done = "SELECT count(*) FROM video_parts WHERE video_id = :id AND state = 'done'"
    deadline = time.monotonic() + 120
    while stack.scalar(done, id=video_id) < 2 or (victim := ffmpeg_owner(stack.live_workers())) is None:
        assert time.monotonic() < deadline, "no part was done while another ran"
        time.sleep(0.2)
    held = stack.scalar("SELECT count(*) FROM video_parts WHERE video_id = :id AND state = 'running'", id=video_id)
    victim.kill()

    final = stack.settle(client, [video_id], 300)
    row = stack.report("worker killed mid-part (in parts)", [video_id], final)
    error = client.status(video_id)["error"]
    assert (row["ready"], row["lost"]) == (1, 0), (row, error, [w.output[-3000:] for w in stack.workers])
    # Each part finished once: the killed worker's part only by the survivor. Every part and the audio is
    # logged, but for at most one the victim recorded done and died before logging it (such a part is done,
    # not run again; the plan's rows are gone once the film is whole, and the film's frames, checked below,
    # are the proof that every part is in it).
    encoded = [int(p) for w in stack.workers for p in re.findall(rf"video {video_id} part (-?\d+) encoded", w.output)]
    assert len(encoded) == len(set(encoded)) and set(encoded) <= {-1, *range(9)} and len(encoded) >= 9, encoded
    assert held >= 1 and not stack.leftovers([video_id])
    output = stack.media / stack.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    assert len(video_timestamps(output / "master.m3u8")) == 72 * 30  # whole: every frame once


def test_scale_out_three_workers_one_stops_mid_run(stack, media_files):
    stack.ensure_workers(3)
    client = stack.client()
    ids = upload_many(client, media_files["small"], 12, "Scale-out")
    stack.wait_for_status(client, ids[2], {"processing", "ready"}, 120)
    stopping = stack.live_workers()[0]
    stopping.interrupt(120)  # a graceful stop (Ctrl-C) in the middle of the batch

    final = stack.settle(client, ids, 300)
    row = stack.report("3 workers, one stops mid-run", ids, final)
    assert (row["ready"], row["lost"], row["duplicates"]) == (12, 0, 0), row
    assert not stack.leftovers(ids)
    busy = [w for w in stack.workers if any(f"video {v} transcoded" in w.output for v in ids)]
    assert len(busy) >= 2, "the batch was not shared"


@pytest.fixture
def small_disk(stack):
    """MEDIA_ROOT on a 32 MiB tmpfs for the test (mounted in place, unmounted after)."""
    media = stack.media
    saved = media.with_name("media-saved")
    media.rename(saved)
    media.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(media)], capture_output=True)
    if mounted.returncode != 0:
        media.rmdir()
        saved.rename(media)
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield media
    finally:
        subprocess.run(["umount", "-l", str(media)], check=True)
        media.rmdir()
        saved.rename(media)


def fill(disk: Path, leave: int) -> Path:
    """Take all but `leave` bytes of the filesystem's free space."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as out:
        out.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave
        while remaining > 0:
            remaining -= out.write(chunk[: min(len(chunk), remaining)])
    return filler


def test_disk_full_during_transcode_fails_with_a_reason_and_the_worker_goes_on(stack, media_files, small_disk):
    stack.ensure_workers(1)
    client = stack.client()
    clip = media_files["hd"]
    filler = fill(small_disk, leave=clip.stat().st_size + 256 * 1024)  # room for the upload, not its output
    failing = client.upload(clip, {"title": "Disk full"})["id"]
    final = stack.settle(client, [failing], 180)
    filler.unlink()
    assert final[failing]["status"] == "failed", final
    assert "space" in final[failing]["error"].lower(), final[failing]["error"]

    workers = stack.live_workers()
    after = client.upload(clip, {"title": "Disk freed"})["id"]
    final.update(stack.settle(client, [after], 180))
    row = stack.report("disk full during transcode", [failing, after], final)
    assert (row["failed"], row["ready"], row["lost"]) == (1, 1, 0), row
    assert all(w.proc.poll() is None for w in workers)  # the same workers, still running
    assert not stack.leftovers([failing, after])
