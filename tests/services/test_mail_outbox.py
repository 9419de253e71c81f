"""The mail outbox's retry bookkeeping: a refused mail waits twice as long each time; a delivered one goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from videoflix.core.models import OutgoingMail
from videoflix.mailer import MailOutbox, Sealer
from videoflix.services.accounts import utcnow


class Refusing:
    default_sender = "noreply@example.com"

    def __init__(self, refuse: int):
        self.refuse = refuse
        self.sent = []

    def send_immediately(self, message, fail_silently=False):
        if self.refuse:
            self.refuse -= 1
            raise ConnectionRefusedError("SMTP is down")
        self.sent.append(message)


@pytest.fixture
def mail(dbsession) -> OutgoingMail:
    row = OutgoingMail(sender="noreply@example.com", recipients=["u@example.com"], subject="Hi", body="Link",
                       html=None, next_attempt_at=utcnow())  # fmt: skip
    dbsession.add(row)
    dbsession.flush()
    return row


def test_refused_mails_back_off_then_go_once_delivered(dbsession, mail):
    mailer = Refusing(refuse=2)
    outbox = MailOutbox(mailer, None, retry_seconds=10, sealer=Sealer(b"k" * 64))  # the row's plain text opens as is

    for attempt, delay in [(1, 10), (2, 20)]:
        assert outbox.deliver_due(dbsession, now=utcnow() + timedelta(days=1)) == 0
        dbsession.refresh(mail)
        assert mail.attempts == attempt and "SMTP is down" in mail.last_error
        wait = mail.next_attempt_at - dbsession.scalar(sa.select(sa.func.now()))
        assert timedelta(seconds=delay - 1) < wait <= timedelta(seconds=delay)

    assert outbox.deliver_due(dbsession, now=utcnow()) == 0  # not due yet: nothing is tried
    assert outbox.deliver_due(dbsession, now=utcnow() + timedelta(days=1)) == 1
    assert [m.recipients for m in mailer.sent] == [["u@example.com"]]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(OutgoingMail).where(OutgoingMail.id == mail.id)) == 0
