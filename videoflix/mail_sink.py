"""The SMTP server `videoflix dev` and the tests run on loopback (aiosmtpd, from the [dev] extra, imported
when it starts): it keeps every mail it receives, and `videoflix dev` prints each with its links.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage

from .devservices import LOOPBACK, free_port


# -- SMTP -----------------------------------------------------------------------------------------------------
class MailSink:
    """An SMTP server on loopback that keeps every mail it receives (and hands it to `on_message`)."""

    def __init__(self, port: int | None = None, on_message: Callable[[EmailMessage], None] | None = None):
        self.port = port or free_port()
        self.on_message = on_message
        self.messages: list[EmailMessage] = []
        self._received = threading.Condition()
        self._controller = None

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=LOOPBACK, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._received:
            self.messages.append(message)
            self._received.notify_all()
        if self.on_message is not None:
            self.on_message(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._received:
            self.messages.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages, waiting for them to arrive."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"expected {count} mail(s), got {len(self.messages)} in {timeout}s")
            return list(self.messages[:count])


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def print_mail(message: EmailMessage) -> None:
    """How `videoflix dev` shows a mail: the frontend links in it are what a developer needs."""
    rule = "-" * 72
    print(
        f"\n{rule}\n MAIL to {message['To']}  |  {message['Subject']}\n{rule}\n{text_of(message).strip()}\n{rule}\n",
        flush=True,
    )
