"""What the account endpoints accept. Field names are the existing frontend's."""

from __future__ import annotations

import colander

from ..errors import InvalidInput
from ..passwords import password_problems
from . import text_problem

EMAIL_MAX = 254
PASSWORD_MAX = 128  # argon2 hashes any length, but an unbounded one is free CPU for an attacker


def _strip_lower(value):
    return value.strip().lower() if isinstance(value, str) else value


class StrictString(colander.String):
    """colander.String turns numbers and booleans into strings; a wrong JSON type is an error here, and so is
    text the database cannot store."""

    def deserialize(self, node, cstruct):
        if cstruct is not colander.null and not isinstance(cstruct, str):
            raise colander.Invalid(node, "Must be a string.")
        if isinstance(cstruct, str) and (problem := text_problem(cstruct)):
            raise colander.Invalid(node, problem)
        return super().deserialize(node, cstruct)


def email_node() -> colander.SchemaNode:
    return colander.SchemaNode(
        StrictString(),
        name="email",
        preparer=_strip_lower,
        validator=colander.All(colander.Length(max=EMAIL_MAX), colander.Email("Enter a valid email address.")),
    )


def password_node(name: str) -> colander.SchemaNode:
    return colander.SchemaNode(StrictString(), name=name, validator=colander.Length(min=1, max=PASSWORD_MAX))


def _passwords_match(first: str, second: str, strength: bool = True):
    """The two fields agree and, with `strength`, the password is strong enough (`password_problems`)."""

    def validator(node, value):
        if value[first] != value[second]:
            exc = colander.Invalid(node)
            exc[second] = "Passwords do not match."
            raise exc
        if strength and (problems := password_problems(value[first], email=value.get("email"))):
            exc = colander.Invalid(node)
            exc[first] = problems  # a list: one message each
            raise exc

    return validator


def require_strong(data: dict, field: str) -> None:
    """The strength check a schema left out (`password_problems`: zxcvbn, tens of milliseconds a password),
    for a view that runs it after its rate limit, so that requests past the limit cost no zxcvbn."""
    if problems := password_problems(data[field], email=data.get("email")):
        raise InvalidInput(errors={field: problems})


class RegisterSchema(colander.MappingSchema):
    """The password's strength is checked by the view after the register throttle (`require_strong`)."""

    email = email_node()
    password = password_node("password")
    confirmed_password = password_node("confirmed_password")

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=_passwords_match("password", "confirmed_password", strength=False), **kw)


class LoginSchema(colander.MappingSchema):
    email = colander.SchemaNode(StrictString(), preparer=_strip_lower, validator=colander.Length(min=1, max=EMAIL_MAX))
    password = password_node("password")


class PasswordResetSchema(colander.MappingSchema):
    email = email_node()


class PasswordConfirmSchema(colander.MappingSchema):
    new_password = password_node("new_password")
    confirm_password = password_node("confirm_password")

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=_passwords_match("new_password", "confirm_password"), **kw)
