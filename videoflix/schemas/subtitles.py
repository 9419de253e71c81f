"""What an operator sends with a subtitle file, with a track's corrected cues, and to have a film's speech
captioned again."""

from __future__ import annotations

import colander

from videoflix.core import playlist_text
from videoflix.core.subtitles import MAX_CUES, language_tag

from .accounts import StrictString
from .viewing import MAX_POSITION, StrictNumber

#: the longest text of one cue an operator may write (two lines are ~84 characters; this leaves room)
CUE_TEXT_MAX = 500
#: the speech models the workers carry (stream_workers/speech_model.PACKAGES: a test checks they agree); an
#: operator's own model is a folder the workers' CAPTION_MODEL names, never a path sent over the API
PACKAGED_MODELS = ("base", "tiny.en")


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


def _ends_after_start(node, value):
    if value["end"] <= value["start"]:
        raise colander.Invalid(node, "A cue must end after it starts.")


class CueSchema(colander.MappingSchema):
    """One cue: seconds into the film, and its text (WebVTT's own markup kept, anything else dropped)."""

    start = colander.SchemaNode(StrictNumber(), validator=colander.Range(min=0.0, max=MAX_POSITION))
    end = colander.SchemaNode(StrictNumber(), validator=colander.Range(min=0.0, max=MAX_POSITION))
    text = colander.SchemaNode(StrictString(), preparer=_strip, validator=colander.Length(min=1, max=CUE_TEXT_MAX))

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=_ends_after_start, **kw)


class CuesSchema(colander.SequenceSchema):
    cue = CueSchema()


class CorrectionSchema(colander.MappingSchema):
    """A track's cues as an operator corrected them (all of them: the track becomes these), and its label."""

    cues = CuesSchema(validator=colander.Length(min=1, max=MAX_CUES))
    label = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip,
        validator=colander.All(colander.Length(max=100), _one_line), missing="",
    )  # fmt: skip


class CaptionRequestSchema(colander.MappingSchema):
    """Caption a film's speech again: in `language` (a two-letter code; empty: detected) with `model` (a
    packaged model; empty: the workers' CAPTION_MODEL)."""

    language = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, missing="",
        validator=colander.Regex(r"^([a-z]{2,3})?$", "A two- or three-letter language code (fr), or empty."),
    )  # fmt: skip
    model = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, missing="",
        validator=colander.OneOf(["", *PACKAGED_MODELS]),
    )  # fmt: skip
