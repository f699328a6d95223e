"""Plain-text e-mail through the configured SMTP server (alerts, password resets)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from pilote.config import Settings
from pilote.errors import Unavailable
from pilote.texts import N_

TIMEOUT = 10.0


class MailError(Unavailable):
    """The SMTP server refused the message or could not be reached; `code` is its reply code, if any."""

    def __init__(self, message: str, code: int | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code


def send(settings: Settings, *, to: str, subject: str, text: str) -> None:
    """Send one message, or MailError saying why not."""
    if not settings.smtp_host:
        raise MailError(N_("no SMTP server: set PILOTE_SMTP_HOST (docs/configuration.md)"))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_sender, to, subject
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        code = getattr(error, "smtp_code", None)
        raise MailError(N_("SMTP %(host)s:%(port)s: %(error)s"), code, host=settings.smtp_host, port=settings.smtp_port,
                        error=str(error)) from None  # fmt: skip
