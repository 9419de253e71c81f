"""idet's verdict (stream_workers.interlacing): one field order must dominate the decided frames."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stream_workers import interlacing

from ..support.media import film


def said(tff: int, bff: int, progressive: int) -> str:
    return (
        "[Parsed_idet_0 @ 0x1] Multi frame detection: TFF:     0 BFF:     0 Progressive:     0 Undetermined:     0\n"
        f"[Parsed_idet_0 @ 0x2] Multi frame detection: TFF: {tff:5d} BFF: {bff:5d} Progressive: {progressive:5d} "
        "Undetermined:     3\n"
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((101, 0, 0), "tff"),
        ((0, 90, 0), "bff"),
        ((80, 5, 15), "tff"),  # a few frames of a still stretch
        ((39, 37, 25), None),  # a sharp progressive picture that idet partly takes for either order (measured)
        ((60, 0, 40), None),  # a mixed source: its flagged frames are handled by the declared order
        ((0, 0, 150), None),
        ((10, 0, 0), None),  # too few frames decided to say anything
    ],
)
def test_one_field_order_must_dominate(counts, expected):
    assert interlacing.verdict(said(*counts)) == expected


def test_no_summary_is_no_verdict():
    assert interlacing.verdict("Error opening input") is None


def test_a_source_that_does_not_seek_cleanly_is_judged_from_its_start():
    """idet reads a third into the film; where a seek gives garbage (`seeking`), from the film's start."""
    info = dataclasses.replace(film(), duration=30.0)
    assert "-ss" in interlacing.command("ffmpeg", Path("media/film.mp4"), info)
    assert "-ss" not in interlacing.command("ffmpeg", Path("media/film.mp4"), dataclasses.replace(info, seeks=False))
