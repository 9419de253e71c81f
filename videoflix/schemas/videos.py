"""What the upload form sends besides the file."""

from __future__ import annotations

import colander

from .accounts import StrictString


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class UploadSchema(colander.MappingSchema):
    title = colander.SchemaNode(StrictString(), preparer=_strip, validator=colander.Length(min=1, max=200))
    description = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, validator=colander.Length(max=5000), missing=""
    )
    category = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, validator=colander.Length(max=100), missing=""
    )
