"""Mails waiting to be delivered: written in the transaction that made them, deleted once the SMTP server
has accepted them, so a mail survives an SMTP outage or a crash between commit and delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class OutgoingMail(Base):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[Any]] = mapped_column(JSONB)
    subject: Mapped[str] = mapped_column(String(500))
    #: sealed (mailer.Sealer): the text holds a live link until delivery; the row is deleted once the mail is out
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    #: when the retry loop may take it; in the future at first, so the immediate send after commit goes first
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
