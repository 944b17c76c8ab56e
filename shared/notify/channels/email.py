"""Optional e-mail channel over SMTP (smtplib): plain-text rendering, one message to all
recipients. SMTP 4xx replies and connection failures are transient; 5xx are permanent."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from shared.contracts import Notification
from shared.errors import PermanentError, TransientError
from shared.notify.render import render_plain


class EmailChannel:
    name = "email"
    rate_limit = None

    def __init__(self, host: str, port: int, sender: str, recipients: tuple[str, ...],
                 starttls: bool = True, username: str | None = None,
                 password: str | None = None, timeout_s: float = 10.0):
        if not recipients:
            raise ValueError("EmailChannel needs recipients")
        self.host, self.port, self.sender, self.recipients = host, port, sender, recipients
        self.starttls, self.username, self._password = starttls, username, password
        self.timeout_s = timeout_s

    def targets(self) -> tuple[str, ...]:
        return ("",)

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[Tradewinds {n.severity.value.upper()}] {n.title}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg.set_content(render_plain(n))
        return msg

    def send(self, notification: Notification, target: str, timeout: float) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self._password:
                    smtp.login(self.username, self._password)
                smtp.send_message(self.message(notification))
        except smtplib.SMTPResponseException as exc:
            error = f"smtp: {exc.smtp_code} {exc.smtp_error!r}"
            raise (TransientError if 400 <= exc.smtp_code < 500 else PermanentError)(error) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"smtp: recipients refused: {list(exc.recipients)}") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"smtp: {type(exc).__name__}: {exc}") from exc
