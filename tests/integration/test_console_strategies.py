"""GET /v1/console/strategies through FastAPI's TestClient over a SqliteStore-backed service:
each strategy's state (live, standing aside, warming up), why in numbers, whether it trades
with its weight; read scope, unknown query parameters refused, the OpenAPI model and example.

The states are written by the gate's own `record` (shared/signals/standing.py) from scored
paper trades stated by hand; the figures are worked out by hand below."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from runtime.executor.app import create_app
from runtime.executor.service import ExecutorService
from shared.adapters.local.secrets import EnvFileSecrets
from shared.execution.pretrade import PreTradeGate
from shared.signals import standing
from tests.conftest import T0

pytestmark = pytest.mark.timeout(30)
ADMIN, READ = "admin-" + "x" * 30, "read-" + "y" * 30
PATH = "/v1/console/strategies"
GATE = standing.StandingConfig(window_trades=10, min_trades=3, kelly_min_trades=20)


def client_for(store, clock, bus, gate=GATE, configured=("breakout", "momentum", "rsi")) -> TestClient:
    secrets = EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ},
                             secrets_dir="/nonexistent")
    service = ExecutorService(store=store, bus=bus, clock=clock, secrets=secrets, gate=PreTradeGate(clock))
    service.strategies, service.standing = configured, gate  # what bootstrap would wire from config/
    return TestClient(create_app(service), raise_server_exceptions=False)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def scored(store, voter: str, trades: list[tuple[float, float]], version: int = 0, at=T0):
    """Record paper trades [(gross_bps, fee_bps)] of `voter` through the gate's own record."""
    outcomes = [[g - f, g, f, at.isoformat(), version] for g, f in trades]
    with store.transaction() as tx:
        standing.record(tx, standing.load(tx, voter), outcomes, version, at, GATE)


def test_read_scope_and_unknown_query_parameters_refused(store, clock, bus):
    client = client_for(store, clock, bus)
    assert client.get(PATH).status_code == 401
    assert client.get(PATH, headers=auth("wrong")).status_code == 401
    assert client.get(PATH, headers=auth(READ)).status_code == 200
    assert client.get(PATH, headers=auth(ADMIN)).status_code == 200
    r = client.get(PATH + "?limit=5&x=1", headers=auth(READ))
    assert r.status_code == 422 and r.json()["error"] == "invalid request"
    assert "limit" in r.text and "x" in r.text  # both named
    assert client.get(PATH + "?limit=5").status_code == 401  # the token first, whatever the query
    assert client.post(PATH, headers=auth(ADMIN), json={}).status_code == 405


def test_each_strategy_says_whether_it_trades_and_why_in_numbers(store, clock, bus):
    # momentum: gross 30, 16, 26 bps, fee 20 each → net +10, -4, +6; mean (10 - 4 + 6) / 3 = +4.00 bps
    scored(store, "momentum", [(30, 20), (16, 20), (26, 20)], version=1)
    # rsi: gross 15, 25, 5 bps → net -5, +5, -15; mean (-5 + 5 - 15) / 3 = -5.00 bps
    scored(store, "rsi", [(15, 20), (25, 20), (5, 20)], at=T0 + timedelta(minutes=5))
    # lstm: one trade of the 3 it needs
    scored(store, "lstm", [(40, 20)])
    body = client_for(store, clock, bus).get(PATH, headers=auth(READ)).json()
    assert body["gate_enabled"] is True
    rows = {r["name"]: r for r in body["strategies"]}
    assert list(rows) == ["breakout", "lstm", "momentum", "rsi"]  # configured or recorded, by name
    m = rows["momentum"]
    assert (m["state"], m["trading"], m["paper_trades"], m["params_version"]) == ("live", True, 3, 1)
    assert m["figures"] == {"trades": 3, "expectancy_bps": 4.0, "gross_bps": 24.0,  # (30 + 16 + 26) / 3
                            "round_trip_fee_bps": 20.0, "win_rate": 0.6667}          # 2 of 3 won
    assert m["why"] == ("expectancy after fees +4.00 bps > 0 over the last 3 paper trades: "
                        "gross +24.00 bps - round-trip fee 20.00 bps = +4.00 bps per trade")
    assert m["since"] == T0.isoformat()
    r = rows["rsi"]
    assert (r["state"], r["trading"]) == ("standing_aside", False)
    assert r["figures"]["expectancy_bps"] == -5.0 and r["figures"]["gross_bps"] == 15.0  # (15 + 25 + 5) / 3
    assert r["why"].startswith("expectancy after fees -5.00 bps <= 0 over the last 3 paper trades")
    assert r["since"] == (T0 + timedelta(minutes=5)).isoformat()
    lstm = rows["lstm"]
    assert (lstm["state"], lstm["trading"], lstm["paper_trades"]) == ("warming_up", False, 1)
    assert lstm["why"] == "1 of 3 scored paper trades: votes on paper until then"
    b = rows["breakout"]  # configured, never closed a paper trade: no document yet
    assert b == {"name": "breakout", "state": "warming_up", "trading": False, "since": None, "paper_trades": 0,
                 "params_version": 0, "why": "0 of 3 scored paper trades: votes on paper until then",
                 "figures": {"trades": 0, "min_trades": 3}}


def test_with_the_gate_off_every_strategy_trades_with_its_weight(store, clock, bus):
    scored(store, "rsi", [(15, 20), (25, 20), (5, 20)])  # standing aside by its record...
    off = standing.StandingConfig(window_trades=10, min_trades=3, enabled=False)
    body = client_for(store, clock, bus, gate=off, configured=("rsi", "momentum")).get(PATH, headers=auth(READ)).json()
    assert body["gate_enabled"] is False
    assert [(r["name"], r["state"], r["trading"]) for r in body["strategies"]] == [
        ("momentum", "warming_up", True), ("rsi", "standing_aside", True)]  # ...but the gate is off


def test_openapi_declares_the_model_and_an_example(store, clock, bus):
    spec = client_for(store, clock, bus).get("/openapi.json").json()
    op = spec["paths"][PATH]["get"]
    assert {"200", "401", "403", "422"} <= set(op["responses"])
    ok = op["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/StrategiesView"}
    assert {r["state"] for r in ok["example"]["strategies"]} == {"live", "standing_aside", "warming_up"}
    schemas = spec["components"]["schemas"]
    assert schemas["StrategyState"]["properties"]["state"]["enum"] == ["live", "standing_aside", "warming_up"]
    assert op.get("parameters", []) == []
