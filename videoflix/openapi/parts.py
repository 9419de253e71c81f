"""The pieces every part of the OpenAPI document is made of, and request bodies derived from the colander
schemas the views validate with (`from_colander`), so a field's rule is written once, in its schema."""

from __future__ import annotations

from typing import Any

import colander

JSON = "application/json"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema or ref("Error")}}}


def error(description: str) -> dict:
    return json_response(description, ref("Error"))


def rate_limited(description: str) -> dict:
    response = error(description)
    response["headers"] = {
        "Retry-After": {"description": "Seconds until the limit resets", "schema": {"type": "integer"}}
    }
    return response


def body(schema: dict, content_type: str = JSON) -> dict:
    return {"required": True, "content": {content_type: {"schema": schema}}}


def file_response(description: str, content_type: str) -> dict:
    return {"description": description, "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}


def string(**kw) -> dict:
    return {"type": "string", **kw}


def obj(properties: dict, required: list[str] | None = None, closed: bool = False) -> dict:
    """An object schema; `closed`: no other properties (a response shape: an undocumented field fails the
    schema tests)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def header_param(name: str, schema: dict, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": schema}


def paging(page_max: int, offset_max: int) -> list[dict]:
    """The `?limit=&offset=` query parameters of a paged list, with its bounds."""
    return [
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": page_max}},
        {"name": "offset", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": offset_max}},
    ]  # fmt: skip


COOKIE = [{"cookieAuth": []}]
CSRF = {"name": "X-CSRFToken", "in": "header", "required": False, "schema": string(),
        "description": "The csrftoken cookie's value; required when the request carries an auth cookie."}  # fmt: skip
HEADER = {"schema": {"type": "string"}}
INTEGER_HEADER = {"schema": {"type": "integer"}}
UNAUTHORIZED = error("Not logged in (no valid access cookie).")
NOT_FOUND = error("Unknown, or not ready.")
STAFF_ONLY = error("Not staff, or CSRF check failed.")

ERROR = obj(
    {"detail": string(), "errors": {"type": "object", "additionalProperties": {"type": "array", "items": string()}}},
    ["detail", "errors"],
)

# -- colander -> JSON Schema -------------------------------------------------------------------------------
# (cornice-swagger writes Swagger 2 for Cornice services and colander-jsonschema was last released in 2014;
# the schemas here use five node types and five validators, which this covers and a test holds to.)

_TYPES: list[tuple[type, dict]] = [
    (colander.String, {"type": "string"}),
    (colander.Integer, {"type": "integer"}),
    (colander.Float, {"type": "number"}),
    (colander.Boolean, {"type": "boolean"}),
]


def from_colander(node: colander.SchemaNode, **extra: dict) -> dict:
    """The JSON Schema of what `node` accepts: an object's properties and required fields, a string's
    length, format (email; password for password fields) and enum, a number's range, a list's items and
    length. `extra` adds
    properties the schema does not hold (a multipart body's file)."""
    if isinstance(node.typ, colander.Mapping):
        properties = {**extra, **{child.name: from_colander(child) for child in node.children}}
        required = [*extra, *(child.name for child in node.children if child.required)]
        return obj(properties, required)
    if isinstance(node.typ, colander.Sequence):  # a list of its one child
        schema = {"type": "array", "items": from_colander(node.children[0])}
        for validator in _validators(node.validator):
            if isinstance(validator, colander.Length):
                schema.update({k: v for k, v in (("minItems", validator.min), ("maxItems", validator.max)) if v})
        return schema
    schema = next((dict(base) for kind, base in _TYPES if isinstance(node.typ, kind)), None)
    if schema is None:
        raise TypeError(f"no JSON Schema for the colander type {type(node.typ).__name__} of {node.name!r}")
    for validator in _validators(node.validator):
        if isinstance(validator, colander.Length):
            schema.update({k: v for k, v in (("minLength", validator.min), ("maxLength", validator.max)) if v})
        elif isinstance(validator, colander.Email):
            schema["format"] = "email"
        elif isinstance(validator, colander.Range):
            schema.update({k: v for k, v in (("minimum", validator.min), ("maximum", validator.max)) if v is not None})
        elif isinstance(validator, colander.OneOf):
            schema["enum"] = list(validator.choices)
    if "password" in node.name:
        schema["format"] = "password"
    return schema


def _validators(validator) -> list:
    if validator is None:
        return []
    if isinstance(validator, colander.All):
        return [v for inner in validator.validators for v in _validators(inner)]
    return [validator]
