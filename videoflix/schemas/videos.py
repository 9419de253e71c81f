"""What the upload form sends besides the file, and what an operator may edit later."""

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


class EditSchema(colander.MappingSchema):
    """PATCH: any of the three, with the upload form's rules; absent fields stay as they are."""

    # allow_empty: an empty title must fail Length(min=1), not read as "absent" and be dropped
    title = colander.SchemaNode(
        StrictString(allow_empty=True),
        preparer=_strip,
        validator=colander.Length(min=1, max=200),
        missing=colander.drop,
    )
    description = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, validator=colander.Length(max=5000), missing=colander.drop
    )
    category = colander.SchemaNode(
        StrictString(allow_empty=True), preparer=_strip, validator=colander.Length(max=100), missing=colander.drop
    )
