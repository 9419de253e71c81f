"""The operators' accounts API in the OpenAPI document (staff): request bodies from `schemas/admin_accounts.py`."""

from __future__ import annotations

from ..schemas.admin_accounts import AccountChangeSchema
from ..views.admin_accounts import OFFSET_MAX, PAGE_MAX
from .parts import (
    COOKIE,
    CSRF,
    HEADER,
    INTEGER_HEADER,
    STAFF_ONLY,
    UNAUTHORIZED,
    body,
    error,
    from_colander,
    json_response,
    obj,
    paging,
    ref,
    string,
)

PAGING = paging(PAGE_MAX, OFFSET_MAX)
MOMENT = {"type": "string", "format": "date-time", "nullable": True}
PAGE_HEADERS = {"X-Total-Count": INTEGER_HEADER, "Link": HEADER}

SCHEMAS = {
    "Account": obj(
        {
            "id": {"type": "integer"},
            "email": string(format="email"),
            "is_active": {"type": "boolean"},
            "is_staff": {"type": "boolean"},
            "deactivated_at": {**MOMENT, "description": "set while an operator keeps the account deactivated"},
            "created_at": MOMENT,
            "last_login_at": MOMENT,
            "last_active": {**MOMENT, "description": "the latest login or token refresh"},
            "sessions": {"type": "integer", "description": "open login sessions"},
        },
        ["id", "email", "is_active", "is_staff", "sessions"],
    ),
    "AuditEntry": obj(
        {
            "at": MOMENT,
            "actor": string(description="the operator's address, or the command line"),
            "action": string(enum=["deactivate", "activate", "staff", "unstaff"]),
            "account": {"type": "integer", "nullable": True},
            "email": string(),
        },
        ["at", "actor", "action", "email"],
    ),
}
SCHEMAS["Watching"] = obj(
    {
        "account": {"type": "integer"},
        "email": string(format="email"),
        "video": {"type": "integer"},
        "title": string(),
        "session": string(description="the login session (a screen): its id's first characters"),
        "address": {"type": "string", "nullable": True},
        "started": MOMENT,
        "seen": {**MOMENT, "description": "the last renewal (a player renews while it fetches)"},
    },
    ["account", "email", "video", "title", "session", "started", "seen"],
)
SCHEMAS["AccountDetail"] = {
    "allOf": [
        ref("Account"),
        obj(
            {
                "login_sessions": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": string(description="the first characters of the session's id"),
                            "started": MOMENT,
                            "last_active": MOMENT,
                            "ends": MOMENT,
                            "user_agent": {"type": "string", "nullable": True},
                            "address": {"type": "string", "nullable": True},
                        }
                    ),
                },
                "watching": {"type": "array", "items": ref("Watching")},
                "audit": {"type": "array", "items": ref("AuditEntry")},
            },
            ["login_sessions", "watching", "audit"],
        ),
    ]
}

NOT_AN_ACCOUNT = error("No such account.")
CHANGE = {**from_colander(AccountChangeSchema()), "minProperties": 1}

OPERATIONS = {
    "admin.accounts": {"get": {
        "summary": "Accounts, newest first (staff)", "tags": ["operators"], "security": COOKIE,
        "parameters": [{"name": "q", "in": "query", "required": False, "schema": string(),
                        "description": "in the address"}, *PAGING],
        "responses": {"200": {**json_response("The accounts", {"type": "array", "items": ref("Account")}),
                              "headers": PAGE_HEADERS},
                      "400": error("Bad search or paging."), "401": UNAUTHORIZED, "403": error("Not staff.")},
    }},
    "admin.account": {
        "get": {
            "summary": "One account: its open login sessions and what operators did to it (staff)",
            "tags": ["operators"], "security": COOKIE,
            "responses": {"200": json_response("The account", ref("AccountDetail")), "401": UNAUTHORIZED,
                          "403": error("Not staff."), "404": NOT_AN_ACCOUNT},
        },
        "patch": {
            "summary": "Deactivate or reactivate an account, make or unmake an operator (staff)",
            "description": "Deactivating ends every login session of the account at once (and playback the app "
                           "serves) and kills its mail links; it stays deactivated (registering its address again "
                           "changes nothing) until an operator sets `is_active` again. Each change is audited.",
            "tags": ["operators"], "security": COOKIE, "parameters": [CSRF], "requestBody": body(CHANGE),
            "responses": {"200": json_response("The account as it is now", ref("AccountDetail")),
                          "400": error("Neither field, or not a boolean."), "401": UNAUTHORIZED,
                          "403": STAFF_ONLY, "404": NOT_AN_ACCOUNT,
                          "409": error("It would leave no active operator."),
                          "413": error("Body too large."), "415": error("Not JSON.")},
        },
    },
    "admin.watching": {"get": {
        "summary": "Who is watching what now: the live playback sessions, latest first (staff)",
        "tags": ["operators"], "security": COOKIE,
        "responses": {"200": json_response("The playbacks", {"type": "array", "items": ref("Watching")}),
                      "401": UNAUTHORIZED, "403": error("Not staff.")},
    }},
    "admin.audit": {"get": {
        "summary": "What operators did to accounts, newest first (staff)", "tags": ["operators"],
        "security": COOKIE, "parameters": PAGING,
        "responses": {"200": {**json_response("The audit log", {"type": "array", "items": ref("AuditEntry")}),
                              "headers": PAGE_HEADERS},
                      "400": error("Bad paging."), "401": UNAUTHORIZED, "403": error("Not staff.")},
    }},
}  # fmt: skip
