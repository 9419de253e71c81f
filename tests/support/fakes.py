"""Stand-ins for what the workers' agents talk to, in tests that run an agent's code without Kafka or the
database: a topic that records what is sent, a deletion check that answers from a dict."""

from __future__ import annotations


class FakeTopic:
    def __init__(self):
        self.sent = []

    async def send(self, key=None, value=None):
        self.sent.append((key, value))


def gone(rows: dict[int, bool]):
    """A stand-in for the database check: `rows[id]` is whether the row was deleted."""

    async def deleted(video_id: int) -> bool:
        return rows.get(video_id, False)

    return deleted
