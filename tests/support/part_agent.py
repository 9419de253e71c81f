"""The part agent's loop, run in-process over the jobs a faked part topic kept (`FakeTopic.sent`)."""

from __future__ import annotations

import asyncio

from stream_workers import part_jobs


def run_parts(sent: list) -> None:
    """Run every job queued on the part topic on this worker, as its part agent would, the jobs those queue
    too, each part's completion awaited before the next."""

    async def run() -> None:
        while sent:
            _, job = sent.pop(0)
            await part_jobs.run_job(job.asdict())
            await part_jobs.parts_completed()

    asyncio.run(run())
