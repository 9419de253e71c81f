"""The chunk agent: `videos.chunks` -> one job of a long film's plan (`chunk_jobs.run_job`).

Each job is one chunk of the film (or its audio), keyed by video and part so a film's jobs spread over the
partitions and every worker owning one encodes at once. The work, its claims and its reports are in
`chunk_jobs`; the transcode agent starts a plan there, so neither agent imports the other.
"""

from __future__ import annotations

from .. import chunk_jobs, topics
from ..app import app


@app.agent(topics.chunks, concurrency=1)
async def encode_chunks(stream):
    async for payload in stream:
        await chunk_jobs.run_job(payload)
