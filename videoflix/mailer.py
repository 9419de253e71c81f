"""pyramid_mailer, set up from the `mail.*` settings, with two corrections to its SMTP delivery.

1. Line endings. repoze.sendmail hands smtplib the message as bytes with bare LF line ends, and smtplib
   converts only `str` messages to CRLF. Strict servers (aiosmtpd; MTAs hardened against SMTP smuggling)
   reject that as one overlong line. The SMTP classes below send CRLF.
2. Failure after commit. Delivery runs in the transaction's second phase, after PostgreSQL has committed.
   An SMTP error there cannot undo the commit; letting it propagate only turns a successful registration
   into a 500 that invites a retry ("email already exists"). It is logged as an error instead.
"""

from __future__ import annotations

import logging
import re
import smtplib

from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import Mailer

log = logging.getLogger(__name__)

_BARE_LF = re.compile(rb"(?<!\r)\n")


class _CRLFMixin:
    def sendmail(self, from_addr, to_addrs, msg, *args, **kw):
        if isinstance(msg, bytes):
            msg = _BARE_LF.sub(b"\r\n", msg)
        return super().sendmail(from_addr, to_addrs, msg, *args, **kw)


class CRLF_SMTP(_CRLFMixin, smtplib.SMTP):
    pass


class CRLF_SMTP_SSL(_CRLFMixin, smtplib.SMTP_SSL):
    pass


class LoggedDelivery:
    """Wraps repoze.sendmail's SMTP mailer: a failed delivery is logged, never raised into the commit."""

    def __init__(self, smtp_mailer):
        smtp_mailer.smtp = CRLF_SMTP
        if getattr(smtp_mailer, "smtp_ssl", None) is not None:
            smtp_mailer.smtp_ssl = CRLF_SMTP_SSL
        self.inner = smtp_mailer

    def send(self, fromaddr, toaddrs, message) -> None:
        try:
            self.inner.send(fromaddr, toaddrs, message)
        except Exception:
            log.exception("mail %r to %s could not be delivered", message.get("Subject"), ", ".join(toaddrs))


def includeme(config) -> None:
    base = Mailer.from_settings(config.get_settings(), "mail.")
    mailer = Mailer(
        smtp_mailer=LoggedDelivery(base.smtp_mailer),
        default_sender=base.default_sender,
        queue_path=base.queue_path,
    )
    config.registry.registerUtility(mailer, IMailer)
    config.add_request_method(get_mailer, "mailer", reify=True)  # bound to request.tm: sends on commit
