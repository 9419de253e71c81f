"""The operators' accounts API (staff): list and search accounts, one account with its login sessions, what it
watches and its audit log, deactivate/reactivate and make/unmake operators (`AccountAdmin` holds the rules), the
whole audit log, and who is watching now."""

from __future__ import annotations

from pyramid.view import view_config

from ..schemas import validate
from ..schemas.admin_accounts import AccountChangeSchema
from ..security import STAFF
from ..services.account_admin import AccountSummary, Actor, session_label
from ..services.playback import Watching
from .params import paged, paging, text_param

#: paging of the accounts list and the audit log; the OpenAPI document states the same bounds
PAGE_MAX = 500
OFFSET_MAX = 10**9


def _when(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def account_json(summary: AccountSummary) -> dict:
    user = summary.user
    return {
        "id": user.id,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "deactivated_at": _when(user.deactivated_at),
        "created_at": _when(user.created_at),
        "last_login_at": _when(user.last_login_at),
        "last_active": _when(summary.last_active),
        "sessions": summary.sessions,
    }


def audit_json(entry) -> dict:
    return {"at": _when(entry.at), "actor": entry.actor, "action": entry.action, "account": entry.user_id,
            "email": entry.email}  # fmt: skip


@view_config(route_name="admin.accounts", request_method="GET", renderer="json", permission=STAFF)
def account_list(request):
    """Accounts, newest first: `?q=` searches addresses, `?limit=&offset=` page as the video lists do."""
    limit, offset = paging(request, PAGE_MAX, OFFSET_MAX)
    query = text_param(request, "q")
    accounts, total = request.account_admin.search(query, limit, offset)
    paged(request, request.response, total, limit, offset, q=query)
    return [account_json(summary) for summary in accounts]


def _detail(request, user) -> dict:
    admin = request.account_admin
    entries, _ = admin.audit(50, 0, user)
    open_sessions = admin.sessions(user)
    sessions = [
        {"id": session_label(s.id), "started": _when(s.created_at), "last_active": _when(s.refreshed_at),
         "ends": _when(s.expires_at), "user_agent": s.user_agent, "address": s.address}
        for s in open_sessions
    ]  # fmt: skip
    watching = [watching_json(w) for w in request.playback.watching(user_id=user.id)]
    return {**account_json(admin.summary(user, open_sessions)), "login_sessions": sessions, "watching": watching,
            "audit": [audit_json(e) for e in entries]}  # fmt: skip


def watching_json(watching: Watching) -> dict:
    playback = watching.playback
    return {"account": playback.user_id, "email": watching.email, "video": playback.video_id,
            "title": watching.title, "session": session_label(playback.auth_session_id), "address": playback.address,
            "started": _when(playback.started_at), "seen": _when(playback.seen_at)}  # fmt: skip


@view_config(route_name="admin.watching", request_method="GET", renderer="json", permission=STAFF)
def watching_list(request):
    """Who is watching what now: the live playback sessions (renewed within the last minute), latest first."""
    return [watching_json(w) for w in request.playback.watching()]


@view_config(route_name="admin.account", request_method="GET", renderer="json", permission=STAFF)
def account_detail(request):
    """One account with its open login sessions and the last 50 changes operators made to it."""
    return _detail(request, request.account_admin.get(int(request.matchdict["id"])))


@view_config(route_name="admin.account", request_method="PATCH", renderer="json", permission=STAFF)
def account_change(request):
    """`{"is_active": false}` deactivates (every login session ends at once, and with it playback the app
    serves), `true` lifts it; `{"is_staff": ...}` makes or unmakes an operator. 409 where it would leave no
    active operator."""
    data = validate(request, AccountChangeSchema())
    admin = request.account_admin
    user = admin.get(int(request.matchdict["id"]))
    actor = Actor.of(request.identity)
    if "is_staff" in data:
        admin.set_staff(user, data["is_staff"], actor)
    if data.get("is_active") is False:
        admin.deactivate(user, actor)
    elif data.get("is_active") is True:
        admin.activate(user, actor)
    return _detail(request, user)


@view_config(route_name="admin.audit", request_method="GET", renderer="json", permission=STAFF)
def audit_list(request):
    """What operators did to accounts, newest first."""
    limit, offset = paging(request, PAGE_MAX, OFFSET_MAX)
    entries, total = request.account_admin.audit(limit, offset)
    paged(request, request.response, total, limit, offset)
    return [audit_json(entry) for entry in entries]
