"""The mails of the account life cycle. `send` queues the mail in the request's transaction (see
videoflix/mailer.py), so a mail leaves only if the transaction that created its token commits, and is
retried until the SMTP server takes it."""

from __future__ import annotations

from html import escape

from pyramid_mailer.message import Message

from videoflix.core.models import TokenPurpose

from ..config import Settings
from .accounts import MailToken


class AccountMails:
    def __init__(self, outbox, dbsession, transaction_manager, settings: Settings):
        self.outbox = outbox
        self.db = dbsession
        self.tm = transaction_manager
        self.settings = settings

    def activation(self, mail: MailToken) -> Message:
        link = self.settings.frontend_link(self.settings.activation_path, uid=mail.uidb64, token=mail.token)
        again = (
            "This address has just been registered again. Each registration's email activates the account with "
            "the password chosen in that registration: if you registered only once, use the email of your own "
            "registration and ignore this one.\n\n"
            if mail.again
            else ""
        )
        return self._message(
            mail.user.email,
            "Confirm your email",
            f"Welcome to Videoflix!\n\n{again}Please confirm your email address to activate your account:\n{link}\n\n"
            f"The link can be used once and expires in {_hours(self.settings.activation_token_ttl)}.\n"
            "If you did not create an account, ignore this email.\n",
            link,
            "Activate account",
        )

    def password_reset(self, mail: MailToken) -> Message:
        link = self.settings.frontend_link(self.settings.password_reset_path, uid=mail.uidb64, token=mail.token)
        return self._message(
            mail.user.email,
            "Reset your password",
            f"We received a request to reset your Videoflix password. Choose a new one here:\n{link}\n\n"
            f"The link can be used once and expires in {_hours(self.settings.password_reset_token_ttl)}.\n"
            "If you did not ask for this, ignore this email; your password stays as it is.\n",
            link,
            "Reset password",
        )

    def sign_up(self, mail: MailToken) -> Message:
        """What a registration mails: the activation link, or, when the address has an active account, a
        notice with a reset link (`AccountService.sign_up`)."""
        if mail.purpose == TokenPurpose.ACTIVATION:
            return self.activation(mail)
        link = self.settings.frontend_link(self.settings.password_reset_path, uid=mail.uidb64, token=mail.token)
        return self._message(
            mail.user.email,
            "Someone tried to register with your email",
            "Someone, maybe you, just tried to create a Videoflix account with this email address. You already "
            "have an account, so nothing was created and nothing changed.\n\n"
            f"If you have forgotten your password, choose a new one here:\n{link}\n\n"
            f"The link can be used once and expires in {_hours(self.settings.password_reset_token_ttl)}.\n"
            "If it was not you, ignore this email; your account stays as it is.\n",
            link,
            "Reset password",
        )

    def send(self, message: Message) -> None:
        self.outbox.queue(self.db, message, self.tm)

    def _message(self, to: str, subject: str, text: str, link: str, button: str) -> Message:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if link not in p)
        html = f'{paragraphs}<p><a href="{escape(link)}">{escape(button)}</a></p>'
        return Message(subject=f"Videoflix: {subject}", recipients=[to], body=text, html=html)


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")
