"""What operators may change of an account (`PATCH /api/admin/accounts/{id}/`)."""

from __future__ import annotations

import colander


class StrictBoolean(colander.Boolean):
    """JSON true or false, nothing else: colander.Boolean would read "no", 0 or any string as a truth value."""

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        if not isinstance(cstruct, bool):
            raise colander.Invalid(node, "Must be true or false.")
        return cstruct


def _something(node, value):
    if not value:
        raise colander.Invalid(node, "Send is_active, is_staff or both.")


class AccountChangeSchema(colander.MappingSchema):
    #: false deactivates (every login session ends, and playback the app serves), true lifts a deactivation
    is_active = colander.SchemaNode(StrictBoolean(), missing=colander.drop)
    #: makes or unmakes an operator
    is_staff = colander.SchemaNode(StrictBoolean(), missing=colander.drop)

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=_something, **kw)
