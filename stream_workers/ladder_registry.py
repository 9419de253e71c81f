"""The further ladders a film may get, by name (`ladders.Ladder`): a new codec's ladder is its own module and its
line here (and its name in `videoflix.core.ladders`, which the web tier's routes serve). `ladder_plans` plans
each in the film's parts once it is ready, `ladder_parts` makes them, `db` ends its plan with its verdict."""

from __future__ import annotations

from videoflix.core.media import MediaInfo

from . import av1_ladder, avc_ladder, hevc_ladder, ladder_verdict
from .ladders import Ladder
from .settings import WorkerSettings

#: in the order a film made in one pass gets them: the best H.264 ladder first (every browser's bytes), then AV1
FURTHER: dict[str, Ladder] = {
    ladder.name: ladder for ladder in (avc_ladder.LADDER, av1_ladder.LADDER, hevc_ladder.LADDER)
}


def ladder(name: str, settings: WorkerSettings) -> Ladder:
    """The further ladder `name` as this worker makes it: at its encoder's speed where a setting chooses it
    (`<NAME>_PRESET`: AVC_PRESET), AV1 with film-grain synthesis where switched on (AV1_FILM_GRAIN)."""
    made = FURTHER[name]
    if preset := getattr(settings, f"{name}_preset", None):
        made = made.at(preset)
    if name == av1_ladder.LADDER.name:
        made = av1_ladder.with_film_grain(made, settings.av1_film_grain)
    return made


def enabled(settings: WorkerSettings) -> list[Ladder]:
    """The further ladders switched on (`<NAME>_LADDER`: AVC_LADDER, AV1_LADDER, HEVC_LADDER), in the order they
    are made."""
    return [ladder(name, settings) for name in FURTHER if getattr(settings, f"{name}_ladder")]


def wanted(info: MediaInfo, settings: WorkerSettings, max_seconds: float = float("inf")) -> list[Ladder]:
    """The further ladders a film gets (`ladder_verdict.wanted`; `max_seconds`: for a film made in one pass)."""
    return enabled(settings) if ladder_verdict.wanted(info, max_seconds) else []


def with_verdict(renditions: list[dict]) -> set[str]:
    """The further ladders whose verdict a film's renditions carry (each rung's twin, under its name)."""
    return {name for name in FURTHER if renditions and all(name in r for r in renditions)}
