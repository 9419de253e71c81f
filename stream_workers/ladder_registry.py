"""The further ladders a film may get, by name (`ladders.Ladder`): registering one here (and its module) is all
a new codec's ladder takes; `ladder_parts` makes each in a long film's parts, `db` ends its plan with its
verdict."""

from __future__ import annotations

from . import av1_ladder
from .ladders import Ladder

FURTHER: dict[str, Ladder] = {ladder.name: ladder for ladder in (av1_ladder.LADDER,)}


def with_verdict(renditions: list[dict]) -> set[str]:
    """The further ladders whose verdict a film's renditions carry (each rung's twin, under its name)."""
    return {name for name in FURTHER if renditions and all(name in r for r in renditions)}
