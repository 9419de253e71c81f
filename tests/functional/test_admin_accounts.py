"""The operators' accounts API: find accounts, deactivate one (its viewer is out at once and stays out, whatever
they try), lift it, make and unmake operators, never the last; each change in the audit log; bad input 4xx."""

from __future__ import annotations

import pytest

from videoflix.views.accounts import REGISTERED

from ..support.accounts import PASSWORD


def account_id(operator, email: str) -> int:
    (found,) = operator.get(f"/api/admin/accounts/?q={email}", status=200).json
    return found["id"]


def test_a_deactivated_viewer_is_out_at_once_and_stays_out(operator, other_viewer, mailbox):
    other_viewer.get("/api/video/", status=200)
    viewer = account_id(operator, "other@example.com")
    listed = operator.get("/api/admin/accounts/?q=other@", status=200)
    assert listed.headers["X-Total-Count"] == "1"
    assert listed.json[0]["sessions"] == 1 and listed.json[0]["is_active"] and listed.json[0]["last_active"]
    detail = operator.get(f"/api/admin/accounts/{viewer}/", status=200).json
    assert len(detail["login_sessions"]) == 1 and detail["login_sessions"][0]["address"]

    changed = operator.patch(f"/api/admin/accounts/{viewer}/", {"is_active": False}, status=200).json
    assert (changed["is_active"], changed["sessions"], changed["login_sessions"]) == (False, 0, [])
    assert changed["deactivated_at"] and changed["audit"][0]["action"] == "deactivate"
    assert changed["audit"][0]["actor"] == "operator@example.com"
    other_viewer.get("/api/video/", status=401)  # the next request, not the access token's expiry
    other_viewer.post("/api/token/refresh/", status=401)
    other_viewer.login("other@example.com", status=400)

    # registering the address again answers as every registration does, mails nothing and changes nothing
    mails = len(mailbox.messages)
    again = other_viewer.register("other@example.com", "Fresh-new-passphrase-42", status=201)
    assert again.json == {"detail": REGISTERED, "user": {"email": "other@example.com"}}
    assert len(mailbox.messages) == mails
    other_viewer.login("other@example.com", "Fresh-new-passphrase-42", status=400)
    other_viewer.post("/api/password_reset/", {"email": "other@example.com"}, status=200)
    assert len(mailbox.messages) == mails

    lifted = operator.patch(f"/api/admin/accounts/{viewer}/", {"is_active": True}, status=200).json
    assert lifted["is_active"] and lifted["deactivated_at"] is None
    other_viewer.login("other@example.com", PASSWORD, status=200)
    other_viewer.get("/api/video/", status=200)
    log = operator.get("/api/admin/audit/", status=200)
    assert [(e["action"], e["email"]) for e in log.json[:2]] == [
        ("activate", "other@example.com"), ("deactivate", "other@example.com")]  # fmt: skip


def test_operators_are_made_and_unmade_but_the_last_one_stays(operator, other_viewer):
    me = account_id(operator, "operator@example.com")
    refused = operator.patch(f"/api/admin/accounts/{me}/", {"is_staff": False}, status=409)
    assert "last active operator" in refused.json["detail"]
    operator.patch(f"/api/admin/accounts/{me}/", {"is_active": False}, status=409)
    other = account_id(operator, "other@example.com")
    other_viewer.get("/api/admin/accounts/", status=403)
    assert operator.patch(f"/api/admin/accounts/{other}/", {"is_staff": True}, status=200).json["is_staff"]
    other_viewer.get("/api/admin/accounts/", status=200)  # an operator now, with the session it had
    demoted = other_viewer.patch(f"/api/admin/accounts/{me}/", {"is_staff": False}, status=200).json
    assert demoted["is_staff"] is False and demoted["audit"][0]["actor"] == "other@example.com"
    operator.get("/api/admin/accounts/", status=403)


@pytest.mark.parametrize(
    "body", [{}, {"is_active": "false"}, {"is_staff": 0}, {"is_active": None}, {"is_staff": [True]}]
)
def test_bad_changes_are_400_and_change_nothing(operator, other_viewer, body):
    other = account_id(operator, "other@example.com")
    before = operator.get("/api/admin/audit/", status=200).json
    assert operator.patch(f"/api/admin/accounts/{other}/", body, status=400).json["detail"]
    assert operator.get("/api/admin/audit/", status=200).json == before
    other_viewer.get("/api/video/", status=200)


def test_unknown_accounts_paging_and_permissions(operator, frontend, other_viewer):
    operator.get("/api/admin/accounts/999999/", status=404)
    operator.patch("/api/admin/accounts/999999/", {"is_active": False}, status=404)
    page = operator.get("/api/admin/accounts/?limit=1", status=200)
    assert len(page.json) == 1 and 'rel="next"' in page.headers["Link"]
    operator.get("/api/admin/accounts/?limit=0", status=400)
    operator.get("/api/admin/accounts/?q=%00", status=400)
    other = account_id(operator, "other@example.com")
    operator.patch(f"/api/admin/accounts/{other}/", {"is_active": False}, csrf=False, status=403)  # CSRF
    other_viewer.patch(f"/api/admin/accounts/{other}/", {"is_staff": True}, status=403)
    other_viewer.get("/api/admin/audit/", status=403)
