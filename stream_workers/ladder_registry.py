"""The further ladders a film may get, by name (`ladders.Ladder`): a new codec's ladder is its own module and its
line here (and its name in `videoflix.core.ladders`, which the web tier's routes serve). `ladder_parts` makes
each in a long film's parts, `ladder_pass` in a short film's own run, `db` ends its plan with its verdict."""

from __future__ import annotations

from videoflix.core.media import MediaInfo

from . import av1_ladder, hevc_ladder, ladder_verdict
from .ladders import Ladder
from .settings import WorkerSettings

FURTHER: dict[str, Ladder] = {ladder.name: ladder for ladder in (av1_ladder.LADDER, hevc_ladder.LADDER)}


def enabled(settings: WorkerSettings) -> list[Ladder]:
    """The further ladders switched on (`<NAME>_LADDER`: AV1_LADDER, HEVC_LADDER), in the order they are made."""
    return [ladder for name, ladder in FURTHER.items() if getattr(settings, f"{name}_ladder")]


def wanted(info: MediaInfo, settings: WorkerSettings, max_seconds: float = float("inf")) -> list[Ladder]:
    """The further ladders a film gets (`ladder_verdict.wanted`; `max_seconds`: for a film made in one pass)."""
    return enabled(settings) if ladder_verdict.wanted(info, max_seconds) else []


def with_verdict(renditions: list[dict]) -> set[str]:
    """The further ladders whose verdict a film's renditions carry (each rung's twin, under its name)."""
    return {name for name in FURTHER if renditions and all(name in r for r in renditions)}
