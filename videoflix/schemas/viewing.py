"""What a player reports of where a viewer is in a video."""

from __future__ import annotations

import math

import colander

#: no film is longer (a position beyond is a client error, not a number to store)
MAX_POSITION = 7 * 24 * 3600.0


class StrictNumber(colander.Float):
    """A JSON number, nothing else: colander.Float would take "12" or true, and NaN or Infinity (which Python's
    JSON parser accepts) are no position."""

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        if isinstance(cstruct, bool) or not isinstance(cstruct, int | float) or not math.isfinite(cstruct):
            raise colander.Invalid(node, "Must be a number.")
        return float(cstruct)


class ProgressSchema(colander.MappingSchema):
    position = colander.SchemaNode(
        StrictNumber(),
        validator=colander.Range(min=0.0, max=MAX_POSITION, min_err="Must not be negative.",
                                 max_err="Past the end of any video."),
    )  # fmt: skip
