"""What an operator sends with a subtitle file."""

from __future__ import annotations

import colander

from videoflix.core import playlist_text
from videoflix.core.subtitles import language_tag

from .accounts import StrictString


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _standard_tag(node, value):
    try:
        language_tag(value)
    except ValueError as exc:
        raise colander.Invalid(node, str(exc)) from None


def _one_line(node, value):
    if message := playlist_text.problem(value):  # (the label goes into the master playlist)
        raise colander.Invalid(node, message)


class SubtitleSchema(colander.MappingSchema):
    """`language`: a BCP 47 tag (stored in its standard form: "EN_us" is "en-US"); `label`: what players show
    in their menu (default: the language's name in itself, e.g. "Deutsch")."""

    language = colander.SchemaNode(StrictString(), preparer=_strip, validator=_standard_tag)
    label = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip,
        validator=colander.All(colander.Length(max=100), _one_line), missing="",
    )  # fmt: skip
