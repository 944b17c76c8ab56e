"""The Telegram webhook end to end: real update JSON in, the real Bot API protocol out
(fake Telegram server on 127.0.0.1), InProcessBus + SqliteStore(':memory:') +
SimulatedClock from the repo."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from infra.topology import load as load_topology
from runtime.executor.telegram import SECRET_HEADER, TelegramDeps, telegram_router
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import Control
from shared.notify.channels.telegram import TelegramBotApi
from shared.notify.commands import CommandDeps
from tests.integration.fake_telegram import TOKEN, FakeTelegram

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
SECRET = "s3cret-Token_1"
OPERATOR_CHAT, OPERATOR, STRANGER_CHAT, STRANGER = 1001, 42, 666, 13


class Harness:
    def __init__(self, telegram: FakeTelegram, http: httpx.Client, commands_store=None):
        self.telegram = telegram
        self.clock = SimulatedClock(T0)
        self.store = SqliteStore(":memory:")
        self.bus = InProcessBus(load_topology(), self.clock, self.store)
        self.controls: list[Control] = []
        self.bus.subscribe("risk-control", lambda env: self.controls.append(env.decode()))
        commands = CommandDeps(store=commands_store or self.store, bus=self.bus, clock=self.clock,
                               allowed_chats=frozenset({OPERATOR_CHAT}))
        secrets = EnvFileSecrets(environ={"TW_SECRET_TELEGRAM_WEBHOOK_SECRET": SECRET})
        deps = TelegramDeps(commands=commands, bot=TelegramBotApi(TOKEN, http, telegram.url),
                            secrets=secrets)
        app = FastAPI()
        app.include_router(telegram_router(deps))
        self.client = TestClient(app, raise_server_exceptions=False)
        self.next_id = 5000

    def post(self, update: dict, secret: str | None = SECRET) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = self.client.post("/v1/telegram/webhook", json=update, headers=headers)
        self.bus.drain()
        return response

    def command(self, text: str, chat: int = OPERATOR_CHAT, user: int = OPERATOR,
                secret: str | None = SECRET) -> httpx.Response:
        self.next_id += 1
        return self.post(message_update(self.next_id, chat, user, text), secret)

    def replies(self, chat: int = OPERATOR_CHAT) -> list[str]:
        return [b["text"] for b in self.telegram.sent() if b["chat_id"] == chat]

    def audit(self) -> list[dict]:
        return [doc for _, doc in self.store.query("audit", order_by="update_id")]


def user(uid: int) -> dict:
    return {"id": uid, "is_bot": False, "first_name": "Ada", "username": f"user{uid}",
            "language_code": "en"}


def message_update(update_id: int, chat: int, uid: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 100 + update_id, "from": user(uid),
        "chat": {"id": chat, "first_name": "Ada", "username": f"user{uid}", "type": "private"},
        "date": 1714566600, "text": text,
        "entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]}}


def callback_update(update_id: int, chat: int, uid: int, data: str) -> dict:
    return {"update_id": update_id, "callback_query": {
        "id": f"cbq-{update_id}", "from": user(uid), "chat_instance": "-8215790001",
        "data": data, "message": {
            "message_id": 77, "date": 1714566000, "text": "Optimizer recommends new params",
            "from": {"id": 999, "is_bot": True, "first_name": "Tradewinds",
                     "username": "tradewinds_bot"},
            "chat": {"id": chat, "type": "private"},
            "reply_markup": {"inline_keyboard": [[
                {"text": "✅ Approve", "callback_data": "approve:job-1"},
                {"text": "❌ Reject", "callback_data": "reject:job-1"}]]}}}}


@pytest.fixture
def h():
    server = FakeTelegram().start()
    with httpx.Client() as http:
        yield Harness(server, http)
    server.stop()


def test_missing_or_wrong_secret_is_refused_and_changes_nothing(h):
    assert h.command("/halt test", secret=None).status_code == 401
    assert h.command("/halt test", secret="wrong-token").status_code == 403
    assert h.command("/halt test", secret=SECRET[:-1]).status_code == 403
    assert h.store.get("state", "risk") is None
    assert h.audit() == [] and h.controls == [] and h.telegram.requests == []
    assert h.store.query("processed") == []


def test_a_stranger_gets_a_polite_refusal_and_an_audit_entry(h):
    assert h.command("/halt because", chat=STRANGER_CHAT, user=STRANGER).status_code == 200
    [reply] = h.replies(STRANGER_CHAT)
    assert reply.startswith("Sorry, this bot only takes commands from its operators' chats\\.")
    [entry] = h.audit()
    assert entry["kind"] == "telegram_refused" and entry["actor"] == f"telegram:{STRANGER}"
    assert entry["chat_id"] == STRANGER_CHAT and entry["text"] == "/halt because"
    assert h.store.get("state", "risk") is None and h.controls == []


def test_halt_then_resume_change_risk_state_with_audit_and_control_messages(h):
    h.command("/halt spread blew up on binance")
    st = h.store.get("state", "risk")
    assert st["halted"] is True and st["halt_reason"] == "spread blew up on binance"
    assert st["halted_by"] == f"telegram:{OPERATOR}" and st["halted_at"] == T0.isoformat()
    assert [(c.command.value, c.actor, c.reason) for c in h.controls] == [
        ("halt", f"telegram:{OPERATOR}", "spread blew up on binance")]
    assert "Trading halted" in h.replies()[-1]

    h.command("/status")
    assert "Trading HALTED" in h.replies()[-1]
    h.command("/halt again")  # already halted: no second Control
    assert len(h.controls) == 1 and "Already halted" in h.replies()[-1]

    h.clock.advance(600)
    h.command("/resume checked the books")
    st = h.store.get("state", "risk")
    assert st["halted"] is False and st["resumed_by"] == f"telegram:{OPERATOR}"
    assert st["resume_reason"] == "checked the books"
    assert [c.command.value for c in h.controls] == ["halt", "resume"]
    assert [(a["kind"], a["actor"]) for a in h.audit()] == [
        ("halt", f"telegram:{OPERATOR}"), ("resume", f"telegram:{OPERATOR}")]
    h.command("/resume")
    assert "not halted" in h.replies()[-1] and len(h.controls) == 2


def test_a_resent_update_is_handled_once(h):
    update = message_update(9001, OPERATOR_CHAT, OPERATOR, "/halt once")
    assert h.post(update).status_code == 200
    assert h.post(update).status_code == 200
    assert len(h.controls) == 1 and len(h.replies()) == 1


def test_read_commands_answer_with_valid_markdown(h):
    h.store.put("positions", "binance:BTC/USDT", {
        "venue": "binance", "symbol": "BTC/USDT", "quantity": "0.01", "avg_cost": "60000",
        "mark_price": "61000"})
    h.store.put("executions", "e1", {
        "client_order_id": "tw1", "venue": "binance", "symbol": "BTC/USDT", "side": "sell",
        "filled_quantity": "0.01", "price": "61234", "fee": "0.5", "realised_pnl": "12.34",
        "strategy": "momentum", "executed_at": "2024-05-01T12:10:00+00:00"})
    # the books behind /pnl (the one PnL): start 10,000 USDT + 0.1 BTC, momentum left +12.34 USDT;
    # BTC at 61,000 → NAV 10,012.34 + 6,100 = 16,112.34
    h.store.put("ledger", "pnl", {"start": {"USDT": "10000", "BTC": "0.1"},
                                  "flows": {"strategy:momentum": {"USDT": "12.34"}}})
    h.store.put("marks", "BTC-USDT", {"price": "61000", "at": "2024-05-01T12:59:00+00:00"})
    for text in ("/status", "/pnl", "/positions", "/mode", "/help", "/dance"):
        assert h.command(text).status_code == 200
    assert [r.status for r in h.telegram.requests] == [200] * 6  # Telegram parsed each one
    status, pnl, positions, mode, help_, unknown = h.replies()
    assert "Trading active" in status and "Open exposure: 610\\.00 USDT" in status
    assert "PnL today: \\+12\\.34 USDT over 1 fills" in pnl
    assert "PnL since start: \\+12\\.34 USDT, NAV 16,112\\.34 USDT" in pnl
    assert "binance BTC/USDT 0\\.01 @ 60000, mark 61000, uPnL \\+10\\.00 USDT" in positions
    assert mode.startswith("Mode: paper")
    assert "`/halt <reason>`" in help_ and "/help lists my commands" in unknown


def test_approve_by_button_and_reject_by_command(h):
    for job in ("job-1", "job-2"):
        h.store.put("optimizer_jobs", job, {
            "job_id": job, "strategy": "momentum", "status": "recommended",
            "current_params": {"lookback": 10, "threshold": 0.0035},
            "recommended_params": {"lookback": 14, "threshold": 0.004}})
    h.post(callback_update(7001, OPERATOR_CHAT, OPERATOR, "approve:job-1"))
    job = h.store.get("optimizer_jobs", "job-1")
    assert job["status"] == "approved" and job["decided_by"] == f"telegram:{OPERATOR}"
    assert job["decided_at"] == T0.isoformat()
    # the approval applied a new parameter version and told the fleet to reload it
    params = h.store.get("params", "momentum")
    assert params["values"] == {"lookback": 14, "threshold": 0.004}
    assert params["version"] == job["applied_version"] >= 1
    [reload] = [c for c in h.controls if c.command.value == "reload_params"]
    assert reload.args["strategy"] == "momentum"
    [answer] = h.telegram.sent("answerCallbackQuery")
    assert answer == {"callback_query_id": "cbq-7001", "text": "Approved job-1"}

    h.command("/reject job-2")
    assert h.store.get("optimizer_jobs", "job-2")["status"] == "rejected"
    assert h.store.get("params", "momentum")["version"] == params["version"]  # unchanged
    h.command("/approve job-2")
    assert "job-2 is rejected" in h.replies()[-1].replace("\\", "")
    h.command("/approve job-404")
    assert "unknown optimizer job job\\-404" in h.replies()[-1]
    kinds = [a["kind"] for a in h.audit()]
    assert "optimizer_approved" in kinds and "optimizer_rejected" in kinds


def test_rebalance_plan_buttons_decide_a_proposed_plan(h):
    h.store.put("rebalance_plans", "plan-1", {"plan_id": "plan-1", "status": "proposed", "asset": "BTC"})
    h.post(callback_update(7201, OPERATOR_CHAT, OPERATOR, "rebalance_approve:plan-1"))
    plan = h.store.get("rebalance_plans", "plan-1")
    assert plan["status"] == "approved" and plan["decided_by"] == f"telegram:{OPERATOR}"
    h.post(callback_update(7202, OPERATOR_CHAT, OPERATOR, "rebalance_reject:plan-1"))
    assert h.store.get("rebalance_plans", "plan-1")["status"] == "approved"  # decided once


def test_a_button_pressed_in_a_foreign_chat_is_refused(h):
    h.store.put("optimizer_jobs", "job-1", {"job_id": "job-1", "status": "recommended"})
    h.post(callback_update(7100, STRANGER_CHAT, STRANGER, "approve:job-1"))
    assert h.store.get("optimizer_jobs", "job-1")["status"] == "recommended"
    [answer] = h.telegram.sent("answerCallbackQuery")
    assert answer["text"] == "Not allowed"
    assert h.audit()[0]["kind"] == "telegram_refused"


@pytest.mark.parametrize("body", [
    b'{"update_id": 9100, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"update_id": 9101, "message": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    b"[" * 1_000_000,
    b'{"update_id": "not a number"}',
    b"\xff\xfe not json",
], ids=["nested-arrays", "nested-objects", "unclosed-arrays", "not-an-update", "not-utf8"])
def test_an_unreadable_authenticated_update_is_answered_200_and_ignored(h, body):
    r = h.client.post("/v1/telegram/webhook", content=body,
                      headers={SECRET_HEADER: SECRET, "content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {"ok": True}, r.text[:200]
    assert h.telegram.requests == [] and h.audit() == [] and h.controls == []
    assert h.store.query("processed") == []


class BrokenStore:
    """The Store port while the database is down: every call fails."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("store unavailable")

        return fail


def test_an_update_whose_handling_fails_is_still_answered_200():
    server = FakeTelegram().start()
    try:
        with httpx.Client() as http:
            broken = Harness(server, http, commands_store=BrokenStore())
            r = broken.command("/halt the store is down")
            assert r.status_code == 200 and r.json() == {"ok": True}
            assert broken.controls == [] and broken.store.get("state", "risk") is None
    finally:
        server.stop()
