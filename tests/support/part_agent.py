"""The part agents' loops, run in-process over the jobs a faked part topic kept (`FakeTopic.sent`)."""

from __future__ import annotations

import asyncio

from stream_workers import ladder_parts, part_jobs


def run_parts(sent: list, further: bool = True) -> None:
    """Run every job queued on a part topic on this worker, as its agent would (`further`: the further-ladders
    agent's, else the fast ladder's part agent's), the jobs those queue too, each part's completion awaited
    before the next."""
    run_job = ladder_parts.run_payload if further else part_jobs.run_job

    async def run() -> None:
        while sent:
            _, job = sent.pop(0)
            await run_job(job.asdict())
            await part_jobs.parts_completed()

    asyncio.run(run())
