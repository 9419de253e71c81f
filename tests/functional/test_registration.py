"""Registration tells nothing about which addresses have accounts and cannot be squatted, through the real
database and SMTP server: the answer is the same for every address, and only the mail differs."""

from __future__ import annotations

import sqlalchemy as sa

from videoflix.core.models import User
from videoflix.mail_sink import text_of

from ..support.accounts import PASSWORD


def test_an_active_accounts_address_gets_the_same_answer_and_its_owner_a_reset_link(frontend, mailbox, connection):
    frontend.signed_up("owner@example.com")
    new = frontend.register("someone-new@example.com")
    frontend.last_link()  # its mail arrived
    hash_before = connection.scalar(sa.select(User.password_hash).where(User.email == "owner@example.com"))
    mailbox.clear()

    taken = frontend.register("owner@example.com", "Intruders-pass-77")

    assert (taken.status_int, taken.json["detail"]) == (new.status_int, new.json["detail"])
    assert taken.json["user"] == {"email": "owner@example.com"}
    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "owner@example.com" and "tried to register" in mail["Subject"]
    assert "nothing was created and nothing changed" in text_of(mail)
    link, query = frontend.last_link()
    assert link.endswith("/pages/auth/confirm_password.html")
    assert connection.scalar(sa.select(User.password_hash).where(User.email == "owner@example.com")) == hash_before
    frontend.login("owner@example.com", "Intruders-pass-77", status=400)
    # the mailed link resets the password, as a reset mail's would
    body = {"new_password": "Fresh-start-pass-8", "confirm_password": "Fresh-start-pass-8"}
    frontend.post(f"/api/password_confirm/{query['uid']}/{query['token']}/", body, status=200)
    frontend.login("owner@example.com", "Fresh-start-pass-8", status=200)


def test_a_squatted_address_is_registered_again_by_its_owner(frontend, mailbox):
    frontend.register("victim@example.com", "Squatters-pass-66")
    _, squatters = frontend.last_link()

    again = frontend.register("victim@example.com", PASSWORD)
    _, owners = frontend.last_link()

    assert again.status_int == 201
    frontend.get(f"/api/activate/{owners['uid']}/{owners['token']}/", status=200)
    frontend.get(f"/api/activate/{squatters['uid']}/{squatters['token']}/", status=400)  # dead once one is used
    frontend.login("victim@example.com", "Squatters-pass-66", status=400)
    frontend.login("victim@example.com", PASSWORD, status=200)


def test_an_activation_link_activates_the_registration_it_was_mailed_for(frontend, mailbox):
    """Through the API and the real mail: the victim's link, clicked after an attacker registered the same
    pending address, activates the victim's password, not the attacker's; the second mail says it is one."""
    frontend.register("pending-victim@example.com", PASSWORD)
    _, victims = frontend.last_link()
    frontend.register("pending-victim@example.com", "Attackers-pass-99")
    _, attackers = frontend.last_link()
    second = mailbox.wait_for(frontend.mails_before + 1)[frontend.mails_before]
    assert "registered again" in second.get_body(("plain",)).get_content()

    frontend.get(f"/api/activate/{victims['uid']}/{victims['token']}/", status=200)
    frontend.login("pending-victim@example.com", "Attackers-pass-99", status=400)
    frontend.login("pending-victim@example.com", PASSWORD, status=200)
    frontend.get(f"/api/activate/{attackers['uid']}/{attackers['token']}/", status=400)


def test_the_frontends_flow_register_mail_activate_login_still_works(frontend, mailbox):
    response = frontend.register("flow@example.com")

    assert response.status_int == 201 and response.json["detail"]  # the frontend shows the message
    frontend.activate_last()
    assert frontend.login("flow@example.com").json["user"]["email"] == "flow@example.com"
