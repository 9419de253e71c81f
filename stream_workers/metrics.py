"""Prometheus metrics of a worker, served at /metrics on its Faust web port (prometheus_client text format).

Jobs in flight, job duration by the highest rendition made, finished jobs by outcome, failures by cause, and
the consumer lag (events on the worker's partitions not yet processed) computed at scrape time.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from videoflix.core.disks import disk_of

JOBS_IN_FLIGHT = Gauge("videoflix_jobs_in_flight", "Transcode jobs running in this worker")
JOB_SECONDS = Histogram(
    "videoflix_job_duration_seconds",
    "Wall time of a finished transcode (one FFmpeg pass makes every rendition), by the highest rendition made",
    ["rendition"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
)
JOBS = Counter("videoflix_jobs", "Finished transcode jobs by outcome", ["outcome"])
FAILURES = Counter("videoflix_job_failures", "Failed transcode attempts by cause", ["cause"])


async def scrape(consumer, scratch: Path | None = None) -> bytes:
    """This worker's metrics plus its consumer lag per assigned partition, and the disk of its scratch folder
    (`scratch`: where it makes outputs; a full one fails every job)."""
    state = CollectorRegistry()
    if scratch is not None:
        disk = disk_of(scratch)
        if disk is not None:
            Gauge("videoflix_scratch_capacity_bytes", "The worker's scratch disk", registry=state).set(disk.total)
            Gauge("videoflix_scratch_free_bytes", "Bytes free on the worker's scratch disk", registry=state).set(
                disk.free
            )
    lag = Gauge("videoflix_consumer_lag", "Events not yet processed on an assigned partition", ["topic", "partition"],
                registry=state)  # fmt: skip
    for tp in sorted(consumer.assignment()):
        highwater = consumer.highwater(tp)
        # the offset this worker last committed (Faust keeps it; there is no public accessor), else its position
        done = consumer._committed_offset.get(tp)
        if done is None:
            done = await consumer.position(tp)
        if highwater is not None and done is not None:
            lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - done))
    return generate_latest(REGISTRY) + generate_latest(state)
