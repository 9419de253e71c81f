"""The further-ladders agent: `videos.ladder-parts` -> one part of a ready film's best H.264, AV1 or HEVC ladder
(`ladder_parts.run_payload`). A topic and an agent of their own, apart from the fast ladder's parts
(`encode_parts`): each agent takes one job at a time, and in one agent a worker's next fast part, a long film's
just uploaded, waited behind every further-ladder part queued before it (minutes each)."""

from __future__ import annotations

from .. import ladder_parts, topics
from ..app import app


@app.agent(topics.ladder_parts, concurrency=1)
async def further_ladders(stream):
    async for payload in stream:
        await ladder_parts.run_payload(payload)
