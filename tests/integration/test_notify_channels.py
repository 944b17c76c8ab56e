"""Channels and dispatcher against real local HTTP servers (fake Telegram and Slack)."""

from __future__ import annotations

import itertools
import logging
import socket
import time
from datetime import UTC, datetime

import httpx
import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import Notification, Severity
from shared.errors import PermanentError, RateLimited, TransientError
from shared.notify.channels.local import LocalChannel, read_notifications
from shared.notify.channels.slack import SlackChannel
from shared.notify.channels.telegram import MarkupRejected, TelegramBotApi, TelegramChannel
from shared.notify.channels.webhook import WebhookChannel
from shared.notify.config import RateLimit, parse
from shared.notify.dispatcher import DEDUPE, Dispatcher
from shared.notify.render import render_plain
from tests.integration.fake_slack import FakeSlack
from tests.integration.fake_telegram import TOKEN, FakeTelegram

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHAT = 4242


@pytest.fixture
def telegram():
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def http():
    with httpx.Client() as client:
        yield client


class Sleeps:
    """Injected sleep: records each wait and moves the simulated clock by it."""

    def __init__(self, clock: SimulatedClock, advance: bool = True):
        self.clock, self.advance, self.waits = clock, advance, []

    def __call__(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        if self.advance:
            self.clock.advance(seconds)


def config(**overrides):
    raw = {
        "dedupe_window_s": 600, "max_block_s": 20,
        "routes": {"debug": ["telegram"], "info": ["telegram", "slack"],
                   "warning": ["telegram", "slack"], "critical": ["telegram", "slack"]},
        "retry": {"attempts": 3, "base_delay_s": 0.5, "max_delay_s": 4, "max_retry_after_s": 5},
    }
    raw.update(overrides)
    return parse(raw)


def dispatcher(telegram_url, slack_url, http, clock, sleep, cfg=None, rate="default",
               timeout=2.0, store=None, **kwargs):
    cfg = cfg or config()
    rate = RateLimit() if rate == "default" else rate
    api = TelegramBotApi(TOKEN, http, telegram_url, timeout_s=timeout)
    channels = {"telegram": TelegramChannel(api, (CHAT,), rate),
                "slack": SlackChannel(slack_url, http, timeout_s=timeout)}
    return Dispatcher(cfg, channels, store or SqliteStore(":memory:"), clock, sleep=sleep, **kwargs)


def note(key="k1", severity=Severity.INFO, title="Hello", text="", at=T0, **kw):
    return Notification(kind="test", severity=severity, title=title, text=text,
                        dedupe_key=key, created_at=at, **kw)


# -- escaping ------------------------------------------------------------------------------
def test_markdown_v2_escaping_reaches_telegram_exactly(telegram, slack, http):
    clock = SimulatedClock(T0)
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock))
    n = note(title="P&L_report v1.2 [beta]",
             text="Spread -0.5% on BTC_USDT (binance) 🚀 path C:\\tmp! {x}=y #1 +2 > 3 | ~ `tick`",
             fields=(("Price", "27,123.50 USDT"), ("Net_PnL", "-5.00 USDT")))
    assert d.dispatch(n).channel == "telegram"
    [body] = telegram.sent()
    assert body["chat_id"] == str(CHAT) and body["parse_mode"] == "MarkdownV2"
    assert body["text"] == (
        "ℹ️ *P&L\\_report v1\\.2 \\[beta\\]*\n"
        "Spread \\-0\\.5% on BTC\\_USDT \\(binance\\) 🚀 path C:\\\\tmp\\! \\{x\\}\\=y \\#1 "
        "\\+2 \\> 3 \\| \\~ \\`tick\\`\n"
        "\n"
        "*Price:* 27,123\\.50 USDT\n"
        "*Net\\_PnL:* \\-5\\.00 USDT\n"
        "_2024\\-05\\-01 12:00 UTC_"
    )


def test_unescaped_markdown_is_rejected_by_the_server_and_resent_plain(telegram, http):
    api = TelegramBotApi(TOKEN, http, telegram.url)
    with pytest.raises(MarkupRejected):
        api.send_message(CHAT, "price 1.5 - up!")
    # Should Telegram ever refuse our markup, the alert is not lost: it goes out as plain text.
    telegram.script("bad_markup")
    TelegramChannel(api, (CHAT,)).send(note(title="Halt: loss 3.1%"), str(CHAT), 2.0)
    [body] = telegram.sent()
    assert "parse_mode" not in body and body["text"].startswith("[INFO] 2024-05-01 12:00 UTC")
    assert "Halt: loss 3.1%" in body["text"]


def test_inline_keyboard_is_sent_with_the_message(telegram, slack, http):
    from shared.contracts import Button
    clock = SimulatedClock(T0)
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock))
    d.dispatch(note(buttons=(Button(text="✅ Approve", callback_data="approve:job-1"),
                             Button(text="❌ Reject", callback_data="reject:job-1"))))
    assert telegram.sent()[0]["reply_markup"] == {"inline_keyboard": [[
        {"text": "✅ Approve", "callback_data": "approve:job-1"},
        {"text": "❌ Reject", "callback_data": "reject:job-1"}]]}


# -- retries and fallback -----------------------------------------------------------------
def test_retry_with_backoff_then_success(telegram, slack, http):
    clock = SimulatedClock(T0)
    sleeps = Sleeps(clock)
    d = dispatcher(telegram.url, slack.url, http, clock, sleeps, rate=None)
    telegram.script(500, 500)
    result = d.dispatch(note())
    assert (result.status, result.channel, result.attempts) == ("sent", "telegram", 3)
    assert sleeps.waits == [0.5, 1.0]
    assert len(telegram.sent()) == 1 and slack.received() == []


def test_fallback_to_slack_when_telegram_keeps_answering_500(telegram, slack, http):
    clock = SimulatedClock(T0)
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock))
    telegram.script(500, 500, 500)
    result = d.dispatch(note(title="Feed down", text="binance websocket closed"))
    assert result.channel == "slack"
    assert [r.status for r in telegram.requests] == [500, 500, 500]
    [payload] = slack.received()
    assert "Feed down" in payload["text"] and payload["blocks"][0]["type"] == "header"
    assert d.stats["fallbacks"] == 1


def test_429_retry_after_is_honoured_on_the_same_chat(telegram, slack, http):
    clock = SimulatedClock(T0)
    sleeps = Sleeps(clock)
    d = dispatcher(telegram.url, slack.url, http, clock, sleeps)
    telegram.script((429, 2))
    result = d.dispatch(note())
    assert result.channel == "telegram" and slack.received() == []
    assert 2.0 in sleeps.waits  # waited what Telegram asked before trying again
    assert [r.status for r in telegram.requests] == [429, 200]


def test_429_with_long_retry_after_falls_back_to_slack_at_once(telegram, slack, http):
    clock = SimulatedClock(T0)
    sleeps = Sleeps(clock)
    d = dispatcher(telegram.url, slack.url, http, clock, sleeps)
    telegram.script((429, 30))
    assert d.dispatch(note(severity=Severity.CRITICAL)).channel == "slack"
    assert len(telegram.requests) == 1 and all(w < 30 for w in sleeps.waits)


def test_every_channel_failing_raises_transient_and_records_no_dedupe(telegram, slack, http):
    clock = SimulatedClock(T0)
    store = SqliteStore(":memory:")
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock), store=store)
    telegram.script(500, 500, 500)
    slack.script(500, 500, 500)
    with pytest.raises(TransientError, match="undelivered"):
        d.dispatch(note())
    assert store.query(DEDUPE) == []
    # the bus redelivers later: now it goes through
    assert d.dispatch(note()).channel == "telegram"


# -- de-duplication -----------------------------------------------------------------------
def test_dedupe_within_the_window_and_not_after(telegram, slack, http):
    clock = SimulatedClock(T0)
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock))
    assert d.dispatch(note("halt:daily_loss")).status == "sent"
    clock.advance(599)
    assert d.dispatch(note("halt:daily_loss")).status == "duplicate"
    assert d.dispatch(note("other-key")).status == "sent"
    clock.advance(2)  # 601 s after the first delivery
    assert d.dispatch(note("halt:daily_loss")).status == "sent"
    texts = [b["text"] for b in telegram.sent()]
    assert len(texts) == 3 and d.stats["duplicate"] == 1


# -- pacing -------------------------------------------------------------------------------
def test_per_chat_rate_limit_spaces_messages_one_second_apart(telegram, slack, http):
    clock = SimulatedClock(T0)
    seen: list[datetime] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(clock.now())]}) as client:
        d = dispatcher(telegram.url, slack.url, client, clock, Sleeps(clock))
        for i in range(5):
            d.dispatch(note(f"k{i}"))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seen)]
    assert gaps == [1.0, 1.0, 1.0, 1.0]
    assert len(telegram.sent()) == 5


def test_full_queue_drops_non_critical_but_never_critical(telegram, slack, http, caplog):
    clock = SimulatedClock(T0)  # the sleep does not move time: slots pile up ahead
    d = dispatcher(telegram.url, slack.url, http, clock, Sleeps(clock, advance=False),
                   rate=RateLimit(per_second=1, queue_size=3))
    statuses = [d.dispatch(note(f"info{i}")).status for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="tradewinds.notify"):
        dropped = d.dispatch(note("info3"))
    assert statuses == ["sent"] * 3 and dropped.status == "dropped"
    assert d.stats["dropped"] == 1
    assert any("dropped" in r.getMessage() for r in caplog.records)
    for i in range(3):
        assert d.dispatch(note(f"crit{i}", severity=Severity.CRITICAL)).status == "sent"
    assert d.limiter.queued(f"telegram:{CHAT}", RateLimit(per_second=1, queue_size=3)) == 6
    sent_keys = [b["text"] for b in telegram.sent()]
    assert len(sent_keys) == 6 and slack.received() == []


# -- a dead channel is bounded ------------------------------------------------------------
def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_falls_back_quickly(slack, http):
    clock = SimulatedClock(T0)
    cfg = config(retry={"attempts": 3, "base_delay_s": 0.01, "max_delay_s": 0.05})
    d = dispatcher(f"http://127.0.0.1:{_closed_port()}", slack.url, http, clock, time.sleep,
                   cfg=cfg)
    result = d.dispatch(note())
    assert result.channel == "slack" and result.attempts == 4
    assert "ConnectError" in result.errors[0]


def test_hanging_channel_does_not_block_beyond_its_bound(telegram, slack, http):
    telegram.hang_s = 10.0
    telegram.script("hang", "hang", "hang")
    clock = SimulatedClock(T0)
    cfg = config(max_block_s=2.0)
    d = dispatcher(telegram.url, slack.url, http, clock, time.sleep, cfg=cfg, timeout=5.0)
    started = time.monotonic()
    result = d.dispatch(note(severity=Severity.CRITICAL))
    elapsed = time.monotonic() - started
    assert result.channel == "slack"
    assert "timed out" in result.errors[0]
    # telegram got half of the 2 s bound (the other half is kept for the fallbacks)
    assert elapsed < 2.0 + 1.0


# -- other channels -----------------------------------------------------------------------
def test_slack_errors_map_to_our_taxonomy(slack, http):
    n = note()
    with pytest.raises(PermanentError, match="404"):
        SlackChannel(slack.base + "/services/nope", http).send(n, "", 2.0)
    slack.script(429)
    with pytest.raises(RateLimited) as info:
        SlackChannel(slack.url, http).send(n, "", 2.0)
    assert info.value.retry_after == 1.0
    slack.script(500)
    with pytest.raises(TransientError):
        SlackChannel(slack.url, http).send(n, "", 2.0)


def test_generic_webhook_posts_the_contract(slack, http):
    WebhookChannel(slack.base + "/hook", http, headers={"X-Tw": "1"}).send(note(), "", 2.0)
    [body] = slack.received("/hook")
    assert body["dedupe_key"] == "k1" and body["severity"] == "info"
    assert body["rendered"].startswith("[INFO] 2024-05-01 12:00 UTC")


def test_local_channel_writes_jsonl_for_the_replay(tmp_path):
    path = tmp_path / "run" / "notifications.jsonl"
    clock = SimulatedClock(T0)
    channel = LocalChannel(path)
    cfg = parse({"routes": {s.value: ["local"] for s in Severity}})
    d = Dispatcher(cfg, {"local": channel}, SqliteStore(":memory:"), clock)
    d.dispatch(Notification(kind="hourly_summary", title="Hourly summary", dedupe_key="h1",
                            created_at=T0, fields=(("PnL", "+12.34 USDT"),)))
    d.dispatch(note("t1"))
    summaries = list(read_notifications(path, kinds={"hourly_summary"}))
    assert [n.dedupe_key for n in summaries] == ["h1"] and len(channel.messages) == 2
    assert "PnL: +12.34 USDT" in render_plain(summaries[0])


def test_the_configured_local_channel_keeps_its_file_not_a_copy_in_memory(tmp_path):
    """A replay of months writes every notification to its file; the channel built from the
    config keeps no list of them as well (only a channel without a file keeps them in memory)."""
    from shared.notify.channels.factory import build_channels

    path = tmp_path / "run" / "notifications.jsonl"
    cfg = parse({"routes": {s.value: ["local"] for s in Severity}}).local_only(str(path))
    channel = build_channels(cfg, secrets=None)["local"]
    for key in ("a", "b", "c"):
        channel.send(note(key))
    assert [n.dedupe_key for n in read_notifications(path)] == ["a", "b", "c"]
    assert len(channel.messages) == 0
    memory_only = build_channels(parse({"routes": {s.value: ["local"] for s in Severity}}).local_only(None),
                                 secrets=None)["local"]
    memory_only.send(note("d"))
    assert [n.dedupe_key for n in memory_only.messages] == ["d"]
