"""The console's `/v1` routes through FastAPI's TestClient over a SqliteStore-backed service:
scope on every route, strict bodies, settings versions (stale → 409, restore → a new version),
audit entries naming token + operator and why, and the read models' numbers worked out by
hand from documents written by hand."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from runtime.executor.app import create_app
from runtime.executor.service import ExecutorService
from runtime.executor.venues import PaperAccount
from shared.adapters.local.secrets import EnvFileSecrets
from shared.contracts import Command, Side
from shared.execution.breaker import Breakers
from shared.execution.lifecycle import OrderRecord, OrderState, save
from shared.execution.paper import PaperExchange
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import GuardedVenues, RejectTracker, Router
from shared.handlers import executor
from tests.conftest import T0
from tests.executor_fixtures import book
from tests.risk_fixtures import risk_config

pytestmark = pytest.mark.timeout(30)
ADMIN, READ = "admin-" + "x" * 30, "read-" + "y" * 30
BOOKS = {("binance", "BTC/USDT"): book("binance", "BTC/USDT", [("99", 50)], [("100", 500)]),
         ("okx", "BTC/USDT"): book("okx", "BTC/USDT", [("99", 50)], [("100", 500)])}
WHY = {"reason": "console test", "operator": "alice"}
SETTINGS = {"risk": {"limits": {"max_order_usd": "500"}}, "expected_version": 0, **WHY}
READ_ROUTES = ["/v1/equity", "/v1/balances", "/v1/trades", "/v1/opportunities", "/v1/risk", "/v1/latency",
               "/v1/breakers", "/v1/settings", "/v1/settings/versions", "/v1/notifications/recent",
               "/v1/optimizer/jobs", "/v1/audit"]
ADMIN_ROUTES = [("PUT", "/v1/settings", SETTINGS), ("POST", "/v1/settings/restore", {"version": 0, **WHY}),
                ("POST", "/v1/orders/tw0000000001/cancel", WHY),
                ("POST", "/v1/optimizer/jobs", {"strategy": "momentum", "window_days": 7, **WHY}),
                ("POST", "/v1/optimizer/jobs/job-0a1b2c3d4e5f/approve", WHY),
                ("POST", "/v1/optimizer/jobs/job-0a1b2c3d4e5f/reject", WHY),
                ("POST", "/v1/params/momentum/rollback", {"version": 0, **WHY})]


class LiveAccount:
    """A venue account that can cancel (as the ccxt adapter): the venue then says the order
    was cancelled after 0.2 of it filled at 100."""

    def __init__(self):
        self.cancelled: list[str] = []

    def cancel_order_by_client_id(self, client_order_id: str, symbol: str) -> dict:
        self.cancelled.append(client_order_id)
        return {"status": "canceled"}

    def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> dict:
        return {"id": "v-1", "clientOrderId": client_order_id, "status": "canceled", "filled": "0.2",
                "average": "100", "fee": {"cost": "0.02", "currency": "USDT"}}


@pytest.fixture
def env(store, clock, bus):
    secrets = EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ},
                             secrets_dir="/nonexistent")
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps={"binance": Decimal(10)}, clock=clock)
    gate = PreTradeGate(clock)
    guarded = GuardedVenues({"binance": paper, "okx": paper}, clock, Breakers(clock), RejectTracker())
    router = Router(guarded, lambda v, s: BOOKS.get((v, s)), {}, {"BTC/USDT": ["binance", "okx"]})
    deps = executor.ExecutorDeps(venue=paper, clock=clock, gate=gate, router=router)
    service = ExecutorService(store=store, bus=bus, clock=clock, secrets=secrets, gate=gate, orders=deps, dlq=bus)
    live = LiveAccount()
    # what bootstrap wires on the service; create_app mounts the console routes over it
    service.risk_config = risk_config()
    service.hot_path_us = lambda: [5.0, 1.0, 3.0, 2.0]
    service.accounts = {"binance": live, "okx": PaperAccount("okx", store)}
    app = create_app(service)
    seen: dict[str, list] = {"control": [], "optimizer": [], "executions": []}
    bus.subscribe("risk-control", lambda e: seen["control"].append(e.decode()))
    bus.subscribe("optimizer-requests", lambda e: seen["optimizer"].append(e))
    bus.subscribe("risk-executions", lambda e: seen["executions"].append(e.decode()))
    return TestClient(app, raise_server_exceptions=False), service, live, seen


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def snapshot(store) -> str:
    return json.dumps({c: store.query(c) for c in sorted(store.collections())}, sort_keys=True, default=str)


def audits(store, kind):
    return [d for _, d in store.query("audit") if d["kind"] == kind]


def test_scope_no_token_401_read_token_reads_only(env, store):
    client, *_ = env
    before = snapshot(store)
    for path in READ_ROUTES:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=auth("wrong")).status_code == 401, path
        assert client.get(path, headers=auth(READ)).status_code == 200, path
    for method, path, body in ADMIN_ROUTES:
        assert client.request(method, path, json=body).status_code == 401, path
        r = client.request(method, path, json=body, headers=auth(READ))
        assert r.status_code == 403 and r.json() == {"error": "this endpoint needs the admin scope"}, path
    assert snapshot(store) == before  # nothing written, nothing audited


def test_bad_input_is_422_with_a_clear_message_and_changes_nothing(env, store):
    client, *_ = env
    before = snapshot(store)
    refused = [
        ({"limits": {"max_order_usd": "-5"}}, r"^limits\.max_order_usd: must be a decimal string"),
        ({"limits": {"max_order_usd": 500}}, r"^limits\.max_order_usd: must be a decimal string"),
        ({"limits": {"max_open_orders": 0}}, r"^limits\.max_open_orders: Input should be greater than or equal"),
        ({"panic": {"win_rate_min_trades": 9}}, r"^panic: .*win_rate_min_trades cannot exceed win_rate_window"),
        ({"limits": {"max_leverage": "2"}}, r"^limits\.max_leverage: Extra inputs are not permitted"),
        ({"portfolio": {"quote": "EUR"}}, r"^not editable at run time: portfolio"),
        ({}, r"^risk: nothing to change"),
    ]
    for risk, message in refused:
        r = client.put("/v1/settings", json={**SETTINGS, "risk": risk}, headers=auth(ADMIN))
        assert r.status_code == 422 and re.match(message, r.json()["detail"]), (risk, r.text)
        assert r.json()["error"] == r.json()["detail"]
    invalid = [("PUT", "/v1/settings", {**SETTINGS, "mode": "live"}),  # mode is set_mode's, not here
               ("PUT", "/v1/settings", {**SETTINGS, "reason": "no"}),
               ("PUT", "/v1/settings", {**SETTINGS, "expected_version": -1}),
               ("POST", "/v1/settings/restore", {"version": 1}),
               ("POST", "/v1/orders/bad!id/cancel", WHY),
               ("POST", "/v1/optimizer/jobs", {"strategy": "*", "window_days": 7, **WHY}),
               ("POST", "/v1/optimizer/jobs", {"strategy": "momentum", "window_days": 0, **WHY}),
               ("POST", "/v1/optimizer/jobs/job-1/approve", {**WHY, "force": True}),
               ("POST", "/v1/params/momentum/rollback", {"version": "latest", **WHY})]
    for method, path, body in invalid:
        r = client.request(method, path, json=body, headers=auth(ADMIN))
        assert r.status_code == 422 and r.json()["error"] == "invalid request" and r.json()["details"], path
    assert client.get("/v1/equity?limit=0", headers=auth(READ)).status_code == 422
    assert client.get("/v1/trades?symbol=btc", headers=auth(READ)).status_code == 422
    assert snapshot(store) == before


def test_settings_versions_stale_put_is_409_restore_makes_new_versions_all_audited(env, store):
    client, *_ = env
    r = client.put("/v1/settings", json=SETTINGS, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["risk"]["limits"]["max_order_usd"] == "500"
    assert body["risk"]["limits"]["max_position_usd"] == "2000"  # the file's value kept
    assert body["updated_by"] == "api:admin:alice" and body["mode"] == "paper"
    again = client.put("/v1/settings", json=SETTINGS, headers=auth(ADMIN))  # same expected_version 0
    assert again.status_code == 409 and "version 1, not 0" in again.json()["detail"]
    r = client.put("/v1/settings", json={**SETTINGS, "risk": {"panic": {"max_daily_loss_pct": 2.5}},
                                         "expected_version": 1}, headers=auth(READ))
    assert r.status_code == 403
    r = client.put("/v1/settings", json={**SETTINGS, "risk": {"panic": {"max_daily_loss_pct": 2.5}},
                                         "expected_version": 1}, headers=auth(ADMIN))
    assert r.json()["version"] == 2 and r.json()["overrides"] == {
        "limits": {"max_order_usd": "500"}, "panic": {"max_daily_loss_pct": 2.5}}  # laid over v1
    # restore the file's values (0) twice: two new versions, each equal to it
    for expected in (3, 4):
        r = client.post("/v1/settings/restore", json={"version": 0, **WHY}, headers=auth(ADMIN))
        assert r.status_code == 200 and r.json()["version"] == expected and r.json()["overrides"] == {}
        assert r.json()["risk"]["limits"]["max_order_usd"] == "1000"
    r = client.post("/v1/settings/restore", json={"version": 1, **WHY}, headers=auth(ADMIN))
    assert r.json()["version"] == 5 and r.json()["overrides"] == {"limits": {"max_order_usd": "500"}}
    assert client.post("/v1/settings/restore", json={"version": 9, **WHY}, headers=auth(ADMIN)).status_code == 404
    versions = client.get("/v1/settings/versions", headers=auth(READ)).json()["versions"]
    assert [(v["version"], v["restores"]) for v in versions] == [(5, 1), (4, 0), (3, 0), (2, None), (1, None)]
    assert client.get("/v1/risk", headers=auth(READ)).json()["settings_version"] == 5
    changed, restored = audits(store, "settings_changed"), audits(store, "settings_restored")
    assert len(changed) == 2 and len(restored) == 3  # the 409, 403 and 404 wrote nothing
    assert all(a["actor"] == "api:admin:alice" and a["reason"] == "console test" for a in changed + restored)
    assert changed[0]["details"]["changes"] in ({"limits": {"max_order_usd": "500"}},
                                                {"panic": {"max_daily_loss_pct": 2.5}})
    items = client.get("/v1/audit?limit=10", headers=auth(READ)).json()["items"]
    assert len(items) == 5 and {i["kind"] for i in items} == {"settings_changed", "settings_restored"}


def test_equity_and_balances_worked_by_hand(env, store):
    client, *_ = env
    for minute, nav in ((2, "30100"), (0, "30000"), (1, "30050")):  # written out of order
        store.put("equity", f"20260105T120{minute}", {
            "at": f"2026-01-05T12:0{minute}:00+00:00", "nav": nav, "total_pnl": str(int(nav) - 30000),
            "hold": "30000", "pnl_today": "0"})
    points = client.get("/v1/equity?limit=2", headers=auth(READ)).json()["points"]
    assert [(p["at"][11:16], p["nav"], p["total_pnl"]) for p in points] == [
        ("12:01", "30050", "50"), ("12:02", "30100", "100")]  # the latest two, oldest first
    store.put("marks", "BTC-USDT", {"price": "50000"})
    store.put("marks", "ETH-BTC", {"price": "0.05"})  # ETH priced by the route: 0.05 x 50,000 = 2,500
    for venue, asset, total in (("binance", "BTC", "0.1"), ("binance", "USDT", "10000"), ("okx", "ETH", "2"),
                                ("okx", "USDT", "500"), ("cold", "USDT", "100"), ("okx", "XRP", "50")):
        store.put("balances", f"{venue}:{asset}", {"venue": venue, "asset": asset, "total": total})
    body = client.get("/v1/balances", headers=auth(READ)).json()
    usd = {(b["venue"], b["asset"]): b["usd"] for b in body["balances"]}
    assert Decimal(usd["binance", "BTC"]) == Decimal(5000)    # 0.1 x 50,000
    assert Decimal(usd["okx", "ETH"]) == Decimal(5000)        # 2 x 2,500
    assert Decimal(usd["cold", "USDT"]) == Decimal(100)
    assert usd["okx", "XRP"] is None                            # no mark: not valued, not in NAV
    assert Decimal(body["nav"]) == Decimal(20600)             # 5,000 + 10,000 + 5,000 + 500 + 100


def test_risk_latency_breakers_worked_by_hand(env, store, clock):
    client, service, *_ = env
    store.put("marks", "BTC-USDT", {"price": "50000"})
    # start 20,000 USDT + 0.2 BTC; a strategy bought 0.01 BTC for 900 USDT: 0.01 x 50,000 - 900 = -400
    store.put("ledger", "pnl", {"start": {"USDT": "20000", "BTC": "0.2"},
                                "flows": {"strategy:momentum": {"BTC": "0.01", "USDT": "-900"}}})
    store.put("pnl_days", "2026-01-05", {"date": "2026-01-05", "open_pnl_usd": "200"})
    store.put("state", "risk", {"trading_day": "2026-01-05", "start_equity": "30000", "day_open_pnl": "200",
                                "recent_results": ["5", "-2", "3", "-1", "4", "7"],
                                "latencies_ms": [100, 200, 300, 400, 600]})
    r = client.get("/v1/risk", headers=auth(READ)).json()
    assert Decimal(r["daily_pnl"]) == Decimal(-600)       # -400 now - 200 at the open
    assert r["daily_loss_pct"] == "2.0000"                  # (200 - (-400)) / 30,000 x 100
    assert r["max_daily_loss_pct"] == 3.0 and r["min_win_rate"] == 0.4 and r["max_avg_latency_ms"] == 500
    assert r["win_rate"] == 0.6 and r["win_rate_trades"] == 5   # last 5: -2 3 -1 4 7 → 3 wins
    assert r["avg_latency_ms"] == "375.0" and r["latency_orders"] == 4  # (200+300+400+600)/4
    assert r["limits"]["max_order_usd"] == "1000" and r["halted"] is False and r["mode"] == "paper"
    for i, ms in enumerate((10, 20, 0, 30, 40, 1000)):  # 0: never reached a venue, not counted
        store.put("executions", f"e{i}", {"latency_ms": ms, "executed_at": f"2026-01-05T12:00:0{i}+00:00"})
    lat = client.get("/v1/latency", headers=auth(READ)).json()
    # nearest rank over 10 20 30 40 1000: p50 = 3rd (ceil 2.5), p99 = 5th (ceil 4.95)
    assert lat["order_ms"] == {"p50": 30.0, "p99": 1000.0, "n": 5}
    assert lat["hot_path_us"] == {"p50": 2.0, "p99": 5.0, "n": 4}  # 1 2 3 5: 2nd and 4th
    guarded = service.orders.router.guarded
    for _ in range(5):  # the breaker's failure threshold
        guarded.breakers["binance"].record_failure()
    for i in range(20):  # 1 reject in 20 answers = 0.05 > 0.02 with the 20 samples needed
        guarded.rejects.record("okx", i == 19, clock.now())
    assert client.get("/v1/breakers", headers=auth(READ)).json() == {"venues": [
        {"venue": "binance", "state": "open", "reject_ratio": 0.0, "shunned": False},
        {"venue": "okx", "state": "closed", "reject_ratio": 0.05, "shunned": True}]}


def test_trades_opportunities_notifications_read_newest_first_with_filters(env, store):
    client, *_ = env
    for i, (venue, strategy) in enumerate((("binance", "momentum"), ("okx", "momentum"), ("okx", "mean_rev"))):
        store.put("executions", f"x{i}", {"execution_id": f"x{i}", "venue": venue, "strategy": strategy,
                                          "symbol": "BTC/USDT", "source": "signal",
                                          "executed_at": f"2026-01-05T12:00:0{i}+00:00"})
    trades = client.get("/v1/trades?venue=okx", headers=auth(READ)).json()["trades"]
    assert [t["execution_id"] for t in trades] == ["x2", "x1"]
    trades = client.get("/v1/trades?venue=okx&strategy=momentum&symbol=BTC/USDT", headers=auth(READ)).json()
    assert [t["execution_id"] for t in trades["trades"]] == ["x1"]
    store.put("arbitrage", "a1", {"key": "k1", "detected_at": "2026-01-05T12:00:00+00:00"})
    for i, reason in enumerate(("inventory", "slippage", "inventory")):
        store.put("near_misses", f"m{i}", {"key": f"m{i}", "reason": reason, "at": f"2026-01-05T12:00:0{i}+00:00"})
    opp = client.get("/v1/opportunities?reason=inventory", headers=auth(READ)).json()
    assert [m["key"] for m in opp["near_misses"]] == ["m2", "m0"] and opp["executed"][0]["key"] == "k1"
    assert opp["by_reason"] == {"inventory": 2, "slippage": 1}
    store.put("notify_dedupe", "d1", {"kind": "risk_alert", "severity": "critical", "channel": "telegram",
                                      "sent_at": "2026-01-05T12:00:05+00:00"})
    store.put("notify_dedupe", "d0", {"kind": "trade", "severity": "info", "channel": "slack",
                                      "sent_at": "2026-01-05T12:00:01+00:00"})
    items = client.get("/v1/notifications/recent", headers=auth(READ)).json()["items"]
    assert [(i["kind"], i["severity"], i["created_at"][11:19]) for i in items] == [
        ("risk_alert", "critical", "12:00:05"), ("trade", "info", "12:00:01")]


def _open_order(store, coid: str, venue: str) -> None:
    rec = OrderRecord(coid, venue, "BTC/USDT", Side.BUY, Decimal("0.5"), source="manual", strategy="manual")
    save(store, rec.to(OrderState.OPEN, T0, note="outcome unknown; needs reconciliation"))


def test_cancel_an_open_order_settles_it_to_the_venue_answer(env, store, bus):
    client, _service, live, seen = env
    assert client.post("/v1/orders/tw0000000099/cancel", json=WHY, headers=auth(ADMIN)).status_code == 404
    _open_order(store, "tw0000000001", "binance")
    r = client.post("/v1/orders/tw0000000001/cancel", json=WHY, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    assert r.json() == {"client_order_id": "tw0000000001", "state": "cancelled", "venue_answer": "canceled"}
    assert live.cancelled == ["tw0000000001"]
    order = store.get("orders", "tw0000000001")
    assert order["filled_quantity"] == "0.2" and order["venue_order_id"] == "v-1"
    bus.drain()
    [ex] = seen["executions"]  # the 0.2 that filled before the cancel is booked
    assert ex.status.value == "partially_filled" and ex.filled_quantity == Decimal("0.2")
    assert ex.price == Decimal(100)
    again = client.post("/v1/orders/tw0000000001/cancel", json=WHY, headers=auth(ADMIN))
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    _open_order(store, "tw0000000002", "okx")  # a paper venue: nothing rests there
    r = client.post("/v1/orders/tw0000000002/cancel", json=WHY, headers=auth(ADMIN))
    assert r.status_code == 409 and "IOC orders never rest" in r.json()["detail"]
    assert store.get("orders", "tw0000000002")["state"] == "open"
    outcomes = [a["details"]["outcome"] for a in sorted(audits(store, "order_cancel"),
                                                         key=lambda a: a["details"]["client_order_id"])]
    assert outcomes == ["venue says canceled", "nothing to cancel"]
    assert all(a["actor"] == "api:admin:alice" for a in audits(store, "order_cancel"))


def test_optimizer_run_approve_reject_and_rollback(env, store, bus):
    client, _service, _, seen = env
    r = client.post("/v1/optimizer/jobs", json={"strategy": "momentum", "window_days": 7, **WHY},
                    headers=auth(ADMIN))
    assert r.status_code == 200 and re.fullmatch(r"job-[0-9a-f]{12}", r.json()["job_id"])
    job_id = r.json()["job_id"]
    bus.drain()
    [env_] = seen["optimizer"]
    request = env_.decode()
    assert (request.strategy, request.window_days, request.requested_by) == ("momentum", 7, "api:admin:alice")
    jobs = client.get("/v1/optimizer/jobs", headers=auth(READ)).json()["jobs"]
    assert [(j["job_id"], j["status"]) for j in jobs] == [(job_id, "requested")]
    for jid in ("job-aaaaaaaaaaaa", "job-bbbbbbbbbbbb"):
        store.put("optimizer_jobs", jid, {"job_id": jid, "strategy": "momentum", "status": "recommended",
                                          "created_at": "2026-01-04T00:00:00+00:00",
                                          "current_params": {"fast": 10.0}, "recommended_params": {"fast": 12.0}})
    r = client.post("/v1/optimizer/jobs/job-aaaaaaaaaaaa/approve", json=WHY, headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["control_published"] is True
    assert store.get("params", "momentum")["values"] == {"fast": 12.0}
    again = client.post("/v1/optimizer/jobs/job-aaaaaaaaaaaa/approve", json=WHY, headers=auth(ADMIN))
    assert again.status_code == 409 and "only a recommended job" in again.json()["detail"]
    r = client.post("/v1/optimizer/jobs/job-bbbbbbbbbbbb/reject", json=WHY, headers=auth(ADMIN))
    assert r.status_code == 200 and store.get("optimizer_jobs", "job-bbbbbbbbbbbb")["status"] == "rejected"
    assert client.post("/v1/optimizer/jobs/job-cccccccccccc/reject", json=WHY,
                       headers=auth(ADMIN)).status_code == 404
    r = client.post("/v1/params/momentum/rollback", json={"version": 0, **WHY}, headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["values"] == {"fast": 10.0}
    assert client.post("/v1/params/momentum/rollback", json={"version": 7, **WHY},
                       headers=auth(ADMIN)).status_code == 409
    bus.drain()
    assert [(c.command, c.args["version"]) for c in seen["control"]] == [
        (Command.RELOAD_PARAMS, "1"), (Command.RELOAD_PARAMS, "2")]
    kinds = {a["kind"]: a for _, a in store.query("audit") if a["kind"].startswith(("optimizer_", "params_"))}
    for kind in ("optimizer_run", "optimizer_approve", "optimizer_reject", "params_rollback"):
        assert kinds[kind]["actor"] == "api:admin:alice" and kinds[kind]["reason"] == "console test", kind


def test_openapi_declares_every_console_route_with_examples(env):
    client, *_ = env
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in READ_ROUTES:
        op = paths[path]["get"]
        assert {"200", "401", "403"} <= set(op["responses"]), path
        assert "example" in op["responses"]["200"]["content"]["application/json"], path
    for method, path, _ in ADMIN_ROUTES:
        template = re.sub(r"tw0000000001", "{order_id}", re.sub(r"job-0a1b2c3d4e5f", "{job_id}", path))
        template = template.replace("/params/momentum/", "/params/{strategy}/")
        op = paths[template][method.lower()]
        assert {"200", "401", "403", "422"} <= set(op["responses"]), path
    schemas = spec["components"]["schemas"]
    assert schemas["SettingsChange"]["additionalProperties"] is False and schemas["SettingsChange"]["examples"]
