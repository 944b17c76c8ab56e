"""No secret reaches a log line, from our code or any library (issue 14.5).

Every notification channel is configured with marked secret values (the Telegram bot
token, the Slack webhook URL, a generic webhook URL with a password in it, the SMTP
password) and so are the executor's bearer tokens and the Telegram webhook secret. The
logs are configured as a service starts them (`shared.logs.configure`) with the root at
DEBUG and the HTTP libraries' loggers as a fresh process has them (unset). Notifications
run through the real notification step (bus, `run_step`, factory-built channels) against
the local fake servers (Telegram, Slack/webhook, aiosmtpd), once delivered and once after
a failure; the executor app serves a Telegram command and a bearer call. Then all log
output, both the formatted stream and every raw record, is searched for each marked value
(as is, URL-encoded and base64-encoded as HTTP Basic and SMTP AUTH would carry it).
"""

from __future__ import annotations

import base64
import logging
import socket
import traceback
from datetime import UTC, datetime
from functools import partial
from urllib.parse import quote

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient

from infra.topology import load as load_topology
from runtime.executor.app import create_app
from runtime.executor.service import ExecutorService
from runtime.executor.telegram import SECRET_HEADER, TelegramDeps
from shared import logs
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import Notification, Severity, wrap
from shared.delivery import run_step
from shared.execution.pretrade import PreTradeGate
from shared.handlers import notification
from shared.notify.channels.telegram import TelegramBotApi
from shared.notify.commands import CommandDeps
from tests.integration import fake_slack
from tests.integration.fake_slack import FakeSlack
from tests.integration.fake_telegram import FakeTelegram

pytestmark = pytest.mark.timeout(60)
T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
CHAT = 4242
TG_TOKEN = "123456:MARKtgTOKENq7Zr2"
SLACK_PART = "MARKslackHOOKx81"
WEBHOOK_PASSWORD = "MARKhookPASSv55"
SMTP_PASSWORD = "MARKsmtpPASSw09"
ADMIN, READ, TG_SECRET = "MARKadminTOKENa12", "MARKreadTOKENr34", "MARKtgWEBHOOKs56"
MARKED = (TG_TOKEN, SLACK_PART, WEBHOOK_PASSWORD, SMTP_PASSWORD, ADMIN, READ, TG_SECRET)
LIBRARIES = ("httpx", "httpcore", "urllib3", "requests", "telegram", "hpack", "mail.log")


def forms(secret: str) -> set[str]:
    """The ways a value can show up: as is, URL-encoded, inside HTTP Basic / SMTP AUTH."""
    b64 = lambda raw: base64.b64encode(raw.encode()).decode()
    return {secret, quote(secret, safe=""), b64(f"hookuser:{secret}"), b64(f"\0ops\0{secret}"), b64(secret)}


class Records(logging.Handler):
    """Every record as a library hands it over: message, args, extras and traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.getMessage()} {record.args!r} {vars(record)!r}"
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


@pytest.fixture
def fresh_logging():
    """Root at DEBUG through our configure(); the libraries' loggers unset, as at start-up."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in LIBRARIES}
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)
    stream = _Buffer()
    logs.configure(pretty=False, level="DEBUG", stream=stream)
    records = Records()
    root.addHandler(records)
    yield stream, records
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


class _Buffer:
    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


@pytest.fixture
def servers(monkeypatch):
    monkeypatch.setattr(fake_slack, "HOOK_PATH", f"/services/T000/B000/{SLACK_PART}")
    telegram, slack = FakeTelegram(token=TG_TOKEN).start(), FakeSlack().start()
    mails = []

    class Recorder:
        async def handle_DATA(self, server, session, envelope):
            mails.append(envelope.content)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == SMTP_PASSWORD
        return AuthResult(success=ok)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(Recorder(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                      auth_require_tls=False)
    smtp.start()
    yield telegram, slack, smtp, mails
    smtp.stop()
    telegram.stop()
    slack.stop()


ROUTES = {
    "every-channel": {"debug": ["slack"], "info": ["webhook"], "warning": ["email"], "critical": ["telegram"]},
    "slack-only": {s.value: ["slack"] for s in Severity},
    "webhook-only": {s.value: ["webhook"] for s in Severity},
}


def notify_config(tmp_path, routes, telegram, smtp) -> str:
    path = tmp_path / "notifications.yaml"
    path.write_text(yaml.safe_dump({
        "routes": routes, "dedupe_window_s": 0,
        "retry": {"attempts": 3, "base_delay_s": 0, "max_delay_s": 0},
        "channels": {
            "telegram": {"enabled": True, "api_base": telegram.url, "chat_ids": [CHAT], "timeout_s": 5},
            "slack": {"enabled": True, "url_secret": "slack-webhook-url", "timeout_s": 5},
            "webhook": {"enabled": True, "url_secret": "notify-webhook-url", "timeout_s": 5},
            "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "starttls": False,
                      "sender": "tradewinds@example.org", "recipients": ["ops@example.org"],
                      "username": "ops", "password_secret": "smtp-password", "timeout_s": 5},
            "local": {"enabled": False}}}))
    return str(path)


def secrets_for(telegram, slack) -> EnvFileSecrets:
    host = slack.base.removeprefix("http://")
    return EnvFileSecrets(environ={
        "TW_SECRET_TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "TW_SECRET_SLACK_WEBHOOK_URL": slack.base + fake_slack.HOOK_PATH,
        "TW_SECRET_NOTIFY_WEBHOOK_URL": f"http://hookuser:{WEBHOOK_PASSWORD}@{host}/hook",
        "TW_SECRET_SMTP_PASSWORD": SMTP_PASSWORD,
        "TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ,
        "TW_SECRET_TELEGRAM_WEBHOOK_SECRET": TG_SECRET}, secrets_dir="/nonexistent")


def run_notifications(config_path, secrets, telegram, slack) -> None:
    clock, store = SimulatedClock(T0), SqliteStore(":memory:")
    topology = load_topology()
    bus = InProcessBus(topology, clock, store)
    deps = notification.build_deps(store, clock, secrets, config_path=config_path, sleep=lambda s: None)
    bus.subscribe("notification-notifications", lambda env: run_step(
        env, consumer="notification", handle=partial(notification.handle, deps=deps), store=store,
        bus=bus, clock=clock, topology=topology))
    for round_ in ("delivered", "after-a-failure"):
        if round_ == "after-a-failure":
            slack.script(500)  # the slack hook and the webhook share the fake server
            telegram.script(500)
        for severity in Severity:
            note = Notification(kind="test", severity=severity, title=f"{severity.value} {round_}",
                                text="check the logs", dedupe_key=f"{severity.value}:{round_}", created_at=T0)
            bus.publish("notifications", wrap(note, ts=clock.now()))
            bus.drain()
            clock.advance(1)
    assert bus.stats["notification-notifications"]["dead_lettered"] == 0


def run_executor_app(secrets, telegram) -> None:
    clock, store = SimulatedClock(T0), SqliteStore(":memory:")
    bus = InProcessBus(load_topology(), clock, store)
    with httpx.Client() as http:
        commands = CommandDeps(store=store, bus=bus, clock=clock, allowed_chats=frozenset({CHAT}))
        tg = TelegramDeps(commands=commands, bot=TelegramBotApi(TG_TOKEN, http, telegram.url), secrets=secrets)
        service = ExecutorService(store=store, bus=bus, clock=clock, secrets=secrets, gate=PreTradeGate(clock),
                                  telegram=tg)
        client = TestClient(create_app(service), raise_server_exceptions=False)
        assert client.get("/v1/positions", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
        assert client.get("/v1/pnl", headers={"Authorization": f"Bearer {READ}"}).status_code in (200, 500)
        update = {"update_id": 1, "message": {"message_id": 2, "date": 0, "text": "/help",
                                              "chat": {"id": CHAT, "type": "private"},
                                              "from": {"id": 7, "is_bot": False, "first_name": "Ada"}}}
        r = client.post("/v1/telegram/webhook", json=update, headers={SECRET_HEADER: TG_SECRET})
        assert r.status_code == 200


@pytest.mark.parametrize("routes", list(ROUTES), ids=list(ROUTES))
def test_no_marked_secret_is_in_any_log_output(tmp_path, fresh_logging, servers, routes):
    stream, records = fresh_logging
    telegram, slack, smtp, mails = servers
    secrets = secrets_for(telegram, slack)
    run_notifications(notify_config(tmp_path, ROUTES[routes], telegram, smtp), secrets, telegram, slack)
    if routes == "every-channel":
        run_executor_app(secrets, telegram)

    # the channels did deliver (the test is not vacuous), and logs were written at DEBUG
    used = {c for cs in ROUTES[routes].values() for c in cs}
    assert ("slack" not in used) or len(slack.received(fake_slack.HOOK_PATH)) == 2 * sum(
        "slack" in cs for cs in ROUTES[routes].values())
    assert ("webhook" not in used) or len(slack.received("/hook")) >= 2
    assert ("email" not in used) or len(mails) == 2
    assert ("telegram" not in used) or len(telegram.sent()) >= 2
    output = stream.getvalue()
    assert len(records.lines) >= 5 and "DEBUG" in output
    leaks = sorted({(secret, where) for secret in MARKED for form in forms(secret)
                    for where, text in (("output", output), ("records", "\n".join(records.lines)))
                    if form in text})
    assert leaks == [], [(s, w, next(line for line in (output.splitlines() if w == "output" else records.lines)
                                     if any(f in line for f in forms(s)))[:300]) for s, w in leaks]
