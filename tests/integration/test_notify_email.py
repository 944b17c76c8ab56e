"""The e-mail channel through smtplib against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from datetime import datetime, timezone
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from shared.contracts import Notification, Severity
from shared.errors import PermanentError, TransientError
from shared.notify.channels.email import EmailChannel

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)


class Recorder:
    def __init__(self, reply: str = "250 OK"):
        self.reply, self.messages = reply, []

    async def handle_DATA(self, server, session, envelope):
        if self.reply.startswith("250"):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return self.reply


@pytest.fixture
def smtp():
    servers = []

    def start(reply="250 OK"):
        handler = Recorder(reply)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return handler, port

    yield start
    for controller in servers:
        controller.stop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def halt() -> Notification:
    return Notification(kind="risk_alert", severity=Severity.CRITICAL, title="Trading halted",
                        text="daily loss 3.2% > 3.0%", fields=(("equity", "96,800.00 USDT"),),
                        dedupe_key="halt:1", created_at=T0)


def channel(port: int) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, "tradewinds@example.org", ("ops@example.org", "cto@example.org"),
                        starttls=False, timeout_s=5)


def test_a_critical_alert_is_delivered_as_plain_text(smtp):
    handler, port = smtp()
    channel(port).send(halt(), "", timeout=5)
    [(sender, rcpts, raw)] = handler.messages
    msg = message_from_bytes(raw)
    assert sender == "tradewinds@example.org" and rcpts == ["ops@example.org", "cto@example.org"]
    assert msg["Subject"] == "[Tradewinds CRITICAL] Trading halted"
    body = msg.get_payload(decode=True).decode()
    assert "daily loss 3.2% > 3.0%" in body and "96,800.00 USDT" in body


def test_smtp_4xx_is_transient_and_5xx_permanent(smtp):
    _, busy = smtp("451 Try again later")
    with pytest.raises(TransientError, match="451"):
        channel(busy).send(halt(), "", timeout=5)
    _, refused = smtp("554 Transaction failed")
    with pytest.raises(PermanentError, match="554"):
        channel(refused).send(halt(), "", timeout=5)


def test_no_server_is_a_transient_error():
    with pytest.raises(TransientError):
        channel(free_port()).send(halt(), "", timeout=1)
