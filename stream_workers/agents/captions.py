"""The captions agent: `videos.captions` -> a ready film's speech as its automatic subtitle track
(`caption_jobs.run`). A topic and an agent of their own, so transcription never holds an encoder back, and a
deployment can give it machines of its own."""

from __future__ import annotations

from .. import caption_jobs, topics
from ..app import app


@app.agent(topics.captions, concurrency=1)
async def captions(stream):
    async for payload in stream:
        await caption_jobs.run(payload)
