"""Account mail delivery: a durable outbox in PostgreSQL and one sender thread per web process.

`MailOutbox.queue()` writes the mail as a `mail_outbox` row in the request's transaction. Once that commits,
the sender thread delivers it at once, so no request waits for SMTP (its response time then says nothing
about whether an account exists). A mail the SMTP server refused, or whose delivery a crash interrupted,
stays in the table; the same thread retries due rows with growing delays, locking each with
`FOR UPDATE SKIP LOCKED` so two web processes never send one twice. Delivered rows are deleted. A row holds
only what a retry needs: recipients, subject, and the text sealed (Fernet, a key derived from SECRET_KEY),
because the text carries a live activation or reset link, whose token the accounts' tables store only hashed:
a copy of the database (a backup, a replica, a read-only leak) hands out no working link.

SMTP itself goes through pyramid_mailer (configured by the `mail.*` settings) with one correction: repoze.sendmail
hands smtplib the message as bytes with bare LF line ends, and smtplib converts only `str` messages to CRLF.
Strict servers (aiosmtpd; MTAs hardened against SMTP smuggling) reject that as one overlong line, so the SMTP
classes below send CRLF.
"""

from __future__ import annotations

import base64
import logging
import queue
import re
import smtplib
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from pyramid.events import NewRequest
from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Message
from sqlalchemy.orm import Session, sessionmaker

from videoflix.core.models import OutgoingMail

from .services.accounts import utcnow

log = logging.getLogger(__name__)

_BARE_LF = re.compile(rb"(?<!\r)\n")
MAX_DELAY = 3600.0
BATCH = 20


class _CRLFMixin:
    def sendmail(self, from_addr, to_addrs, msg, *args, **kw):
        if isinstance(msg, bytes):
            msg = _BARE_LF.sub(b"\r\n", msg)
        return super().sendmail(from_addr, to_addrs, msg, *args, **kw)


class CRLF_SMTP(_CRLFMixin, smtplib.SMTP):
    pass


class CRLF_SMTP_SSL(_CRLFMixin, smtplib.SMTP_SSL):
    pass


def smtp_mailer(settings: dict) -> Mailer:
    mailer = Mailer.from_settings(settings, "mail.")
    mailer.smtp_mailer.smtp = CRLF_SMTP
    if getattr(mailer.smtp_mailer, "smtp_ssl", None) is not None:
        mailer.smtp_mailer.smtp_ssl = CRLF_SMTP_SSL
    return mailer


class Sealer:
    """Seals a mail's text for the outbox row, and opens it for a retry. A row written before sealing (plain
    text, from an earlier version) opens as it is."""

    PREFIX = "fernet:"

    def __init__(self, key: bytes):
        self._fernet = Fernet(base64.urlsafe_b64encode(key[:32]))

    def seal(self, text: str | None) -> str | None:
        return None if text is None else self.PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(self.PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(self.PREFIX) :].encode()).decode()
        except InvalidToken:  # sealed under another SECRET_KEY: its link could not work either
            raise ValueError("sealed under another SECRET_KEY") from None


class MailOutbox:
    def __init__(self, mailer: Mailer, session_factory: sessionmaker[Session], retry_seconds: float, sealer: Sealer):
        self.mailer = mailer
        self.session_factory = session_factory
        self.retry_seconds = retry_seconds
        self.sealer = sealer
        self._pending: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- in the request ---------------------------------------------------------------------------------
    def queue(self, db: Session, message: Message, transaction_manager) -> None:
        """Store the mail in this transaction; it is sent right after the commit (never if it aborts)."""
        row = OutgoingMail(
            sender=message.sender or self.mailer.default_sender,
            recipients=list(message.recipients),
            subject=message.subject,
            body=self.sealer.seal(message.body),
            html=self.sealer.seal(message.html),
            next_attempt_at=utcnow() + timedelta(seconds=self.retry_seconds),
        )
        db.add(row)
        db.flush()
        transaction_manager.get().addAfterCommitHook(self._committed, args=(row.id, message))

    def _committed(self, success: bool, row_id: int, message: Message) -> None:
        if success:
            self.start()
            self._pending.put((row_id, message))

    # -- the sender thread --------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mail-outbox", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        poll = min(30.0, self.retry_seconds)
        swept = 0.0
        while True:
            try:
                item = self._pending.get(timeout=poll)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    # the first attempt sends what the request made; the row is only bookkeeping here
                    row_id, message = item
                    error = self._send(message)
                    with self.session_factory() as db, db.begin():
                        self.record(db, row_id, error)
                if time.monotonic() - swept >= poll:
                    swept = time.monotonic()
                    with self.session_factory() as db, db.begin():
                        self.deliver_due(db)
            except Exception:  # the database is away: the rows wait, the thread goes on
                log.exception("mail outbox: delivery round failed; the mails stay queued")

    # -- delivery (methods that take the session: testable without the thread) --------------------------
    def deliver_due(self, db: Session, now: datetime | None = None) -> int:
        """Retry the mails whose time has come; returns how many were delivered."""
        due = db.scalars(
            sa.select(OutgoingMail.id)
            .where(OutgoingMail.next_attempt_at <= (now or utcnow()))
            .order_by(OutgoingMail.next_attempt_at)
            .limit(BATCH)
        ).all()
        return self.deliver(db, due)

    def deliver(self, db: Session, row_ids: list[int]) -> int:
        delivered = 0
        for row_id in row_ids:
            row = db.scalar(sa.select(OutgoingMail).where(OutgoingMail.id == row_id).with_for_update(skip_locked=True))
            if row is None:  # delivered already, or another process is sending it right now
                continue
            try:
                body, html = self.sealer.open(row.body), self.sealer.open(row.html)
            except ValueError as exc:  # never sendable: dropped, not retried forever
                log.warning("mail %r to %s dropped: %s", row.subject, row.recipients, exc)
                self.record(db, row_id, None)
                continue
            message = Message(subject=row.subject, sender=row.sender, recipients=row.recipients, body=body, html=html)
            error = self._send(message)
            self.record(db, row_id, error)
            delivered += error is None
        return delivered

    def record(self, db: Session, row_id: int, error: str | None) -> None:
        """Delivered: the row goes (with its link). Refused: try again later, each time waiting twice as long."""
        if error is None:
            db.execute(sa.delete(OutgoingMail).where(OutgoingMail.id == row_id))
            return
        attempts = OutgoingMail.attempts + 1
        db.execute(
            sa.update(OutgoingMail)
            .where(OutgoingMail.id == row_id)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=sa.func.now()
                + sa.func.make_interval(
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    sa.func.least(MAX_DELAY, self.retry_seconds * sa.func.power(2, OutgoingMail.attempts)),
                ),
            )
        )

    def _send(self, message: Message) -> str | None:
        try:
            self.mailer.send_immediately(message, fail_silently=False)
        except Exception as exc:
            log.warning("mail %r to %s not delivered: %s", message.subject, message.recipients, exc)
            return f"{type(exc).__name__}: {exc}"
        return None


def includeme(config) -> None:
    settings = config.get_settings()
    outbox = MailOutbox(
        smtp_mailer(settings),
        config.registry["dbsession_factory"],
        config.registry["videoflix.settings"].mail_retry_seconds,
        Sealer(config.registry["videoflix.settings"].derive_key("mail-outbox")),
    )
    config.registry["videoflix.mail_outbox"] = outbox
    # started with the first request, so unsent mails of an earlier run are retried without waiting for a
    # new one (and CLI commands that load the app start no thread)
    config.add_subscriber(lambda event: outbox.start(), NewRequest)
