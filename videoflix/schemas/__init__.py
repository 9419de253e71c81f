"""Reading request bodies: size limit, JSON parsing and colander validation in one place, so every view
gets the same 400/413/415 behaviour and a body is never half-read into a write."""

from __future__ import annotations

import json
from typing import Any

import colander

from ..errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None: PostgreSQL refuses NUL characters, and a lone surrogate
    (JSON allows an escaped `\\ud800`) is not encodable as UTF-8. Either would otherwise end as a 500."""
    if "\x00" in value:
        return "Null characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def json_body(request, limit: int) -> dict[str, Any]:
    """The request's JSON object. An empty body reads as `{}` so that missing fields get field errors."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    raw = request.body_file.read(limit + 1)  # bounded even for a chunked body without Content-Length
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    if not raw.strip():
        return {}
    # a body must say it is JSON: one without a Content-Type is what a cross-site page can send without a
    # preflight (sendBeacon, fetch in no-cors mode), as a form can send text/plain or form fields: none of
    # them may log anyone in (login CSRF) or reach another JSON endpoint
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("Malformed JSON in request body.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def validate(request, schema: colander.Schema) -> dict[str, Any]:
    """Parse the JSON body and deserialize it with `schema`; unknown fields are ignored (colander drops them)."""
    return deserialize(schema, json_body(request, request.registry["videoflix.settings"].max_json_body))


def deserialize(schema: colander.Schema, data: Any) -> dict[str, Any]:
    """`schema.deserialize(data)`, with colander's error turned into the 400 field errors of the API."""
    try:
        return schema.deserialize(data)
    except colander.Invalid as exc:
        raise InvalidInput(errors=field_errors(exc)) from None


def field_errors(exc: colander.Invalid) -> dict[str, list[str]]:
    """colander's `{"a.b": "msg; msg"}` -> `{"b": ["msg", "msg"]}` (field names, lists of messages); inside a
    list the path from the list on names the item (`cues.0.text`: the first cue's text)."""
    errors: dict[str, list[str]] = {}
    for path, message in exc.asdict(separator=None).items():
        parts = path.split(".")
        item = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        name = (".".join(parts[item - 1 :]) if item else parts[-1]) or "non_field_errors"
        messages = message if isinstance(message, list) else [message]
        errors.setdefault(name, []).extend(str(m) for m in messages)
    return errors
