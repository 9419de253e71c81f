"""The account endpoints in the OpenAPI document: request bodies from `schemas/accounts.py`."""

from __future__ import annotations

from ..schemas.accounts import LoginSchema, PasswordConfirmSchema, PasswordResetSchema, RegisterSchema
from .parts import (
    CSRF,
    body,
    error,
    from_colander,
    json_response,
    obj,
    rate_limited,
    ref,
    string,
)

SCHEMAS = {
    "User": obj({"id": {"type": "integer"}, "email": string(format="email")}, ["id", "email"]),
    "Detail": obj({"detail": string()}, ["detail"]),
}

OPERATIONS = {
    "accounts.register": {"post": {
        "summary": "Register; mails an activation link (the same answer for an address that has an account: "
                   "its owner is mailed a reset link instead)", "tags": ["accounts"],
        "description": "The password must also be strong (zxcvbn score 3 of 4, judged on its first 72 "
                       "characters, the email and the site's name counting as known words).",
        "requestBody": body(from_colander(RegisterSchema())),
        "responses": {"201": json_response("Mail sent; a new account is inactive until activated", obj({
                          "detail": string(), "user": obj({"email": string(format="email")}, ["email"])})),
                      "400": error("Field errors: mismatch, weak password."),
                      "413": error("Body too large."), "415": error("Not JSON."),
                      "429": error("Too many registrations for this email or from this address.")},
    }},
    "accounts.activate": {"get": {
        "summary": "Activate an account with the mailed link", "tags": ["accounts"],
        "responses": {"200": json_response("Activated", obj({"message": string()})),
                      "400": error("Invalid, used or expired link.")},
    }},
    "accounts.login": {"post": {
        "summary": "Log in; sets access_token, refresh_token (HttpOnly) and csrftoken cookies", "tags": ["accounts"],
        "requestBody": body(from_colander(LoginSchema())),
        "responses": {"200": json_response("Logged in", obj({"detail": string(), "user": ref("User")})),
                      "400": error("Wrong email or password, or not activated (one message)."),
                      "429": rate_limited("Too many failed logins for this email, or attempts from this address.")},
    }},
    "accounts.logout": {"post": {
        "summary": "Log out; deletes the cookies and ends the session", "tags": ["accounts"],
        "parameters": [CSRF], "responses": {"200": json_response("Logged out", ref("Detail")),
                                            "403": error("CSRF check failed.")},
    }},
    "accounts.token_refresh": {"post": {
        "summary": "New access cookie; rotates the refresh cookie", "tags": ["accounts"], "parameters": [CSRF],
        "responses": {"200": json_response("Refreshed", ref("Detail")),
                      "401": error("Refresh cookie missing, invalid, expired or replayed."),
                      "403": error("CSRF check failed.")},
    }},
    "accounts.password_reset": {"post": {
        "summary": "Mail a password reset link (same answer whether or not the account exists)",
        "tags": ["accounts"], "requestBody": body(from_colander(PasswordResetSchema())),
        "responses": {"200": json_response("Accepted", ref("Detail")), "400": error("Malformed email."),
                      "429": rate_limited("Too many requests for this email or from this address.")},
    }},
    "accounts.password_confirm": {"post": {
        "summary": "Set a new password with the mailed link", "tags": ["accounts"],
        "requestBody": body(from_colander(PasswordConfirmSchema())),
        "responses": {"200": json_response("Password changed; all sessions ended", ref("Detail")),
                      "400": error("Field errors, or an invalid, used or expired link.")},
    }},
}  # fmt: skip
