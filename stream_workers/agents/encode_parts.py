"""The part agent: `videos.parts` -> one job of a long film's plan (`part_jobs.run_job`).

Each job is one part of the film (or its audio), keyed by video and part so a film's jobs spread over the
partitions and every worker owning one encodes at once. The work, its claims and its reports are in
`part_jobs`; the transcode agent starts a plan there, so neither agent imports the other.
"""

from __future__ import annotations

from .. import part_jobs, topics
from ..app import app


@app.agent(topics.parts, concurrency=1)
async def encode_parts(stream):
    async for payload in stream:
        await part_jobs.run_job(payload)
