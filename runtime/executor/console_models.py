"""Request bodies of the console's admin routes (strict: an unknown field is a 422) and the
OpenAPI examples of every console answer (`runtime/executor/console_api.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from runtime.executor.api import ErrorBody

OPERATOR = r"^[A-Za-z0-9_.@\-]{1,64}$"
STRATEGY = r"^[a-z0-9_\-]{1,32}$"
JOB_ID = r"^[A-Za-z0-9_\-]{3,64}$"

_SECTION = {"type": "object", "additionalProperties": True}
RiskPatch = Annotated[dict[str, dict[str, Any]], WithJsonSchema({
    "type": "object", "additionalProperties": False,
    "description": "sections of config/risk.yaml to change, only the fields given: `limits`, `panic`, "
                   "`sizing`; money fields (`*_usd`) as decimal strings, e.g. \"500\"",
    "properties": {"limits": {**_SECTION, "description": "shared.risk.config.Limits fields"},
                   "panic": {**_SECTION, "description": "shared.risk.config.Panic fields"},
                   "sizing": {**_SECTION, "description": "shared.risk.config.Sizing fields"}}})]


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                      json_schema_extra={"examples": list(examples)})


class _Admin(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="why: kept in the audit entry")
    operator: str | None = Field(default=None, pattern=OPERATOR,
                                 description="who at the console (the audit's actor is token name + operator)")


class SettingsChange(_Admin):
    model_config = _examples({"risk": {"limits": {"max_order_usd": "500"}, "panic": {"max_daily_loss_pct": 2.5}},
                              "reason": "smaller orders while the market is thin", "expected_version": 3,
                              "operator": "alice"})
    risk: RiskPatch
    expected_version: int = Field(ge=0, description="the version the change was made against (409 if stale)")


class SettingsRestore(_Admin):
    model_config = _examples({"version": 2, "reason": "back to yesterday's limits", "operator": "alice"})
    version: int = Field(ge=0, description="the version to copy as a new one (0: the file's values)")


class Reason(_Admin):
    model_config = _examples({"reason": "stuck order, venue confirmed", "operator": "alice"})


class OptimizerRun(_Admin):
    model_config = _examples({"strategy": "momentum", "window_days": 7, "reason": "after the volatility regime "
                              "change", "operator": "alice"})
    strategy: str = Field(pattern=STRATEGY, description="one strategy of config/strategies")
    window_days: float = Field(gt=0, le=3650, description="days of history the search uses")


class Rollback(_Admin):
    model_config = _examples({"version": 3, "reason": "v4 trades too often", "operator": "alice"})
    version: int = Field(ge=0, description="the version to make current again (0: the YAML values)")


class StrategyState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="the voter: a strategy instance of config/strategies, or lstm")
    state: Literal["live", "standing_aside", "warming_up"]
    why: str = Field(description="the verdict in numbers (shared/signals/standing.py)")
    trading: bool = Field(description="trades with its ensemble weight now (live, or the gate is off); "
                                      "otherwise it votes on paper only")
    since: str | None = Field(description="when it entered this state (null: no scored paper trade yet)")
    paper_trades: int = Field(ge=0, description="scored paper trades since its record began")
    params_version: int = Field(ge=0, description="the parameter version its current record belongs to")
    figures: dict[str, int | float] = Field(description="trades, expectancy_bps, gross_bps, round_trip_fee_bps, "
                                                  "win_rate; kelly and payoff from kelly_min_trades trades")


class StrategiesView(BaseModel):
    """GET /v1/console/strategies: who trades with real size, who stands aside or warms up, and why."""

    model_config = ConfigDict(extra="forbid")
    gate_enabled: bool = Field(description="config/signals.yaml standing_aside.enabled: false lets every "
                                           "voter trade with its weight (still scored on paper)")
    strategies: list[StrategyState]


def ok(example: dict, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"example": example}}}}


AT = "2026-01-05T12:00:00+00:00"
EXAMPLES: dict[str, dict] = {
    "equity": {"points": [{"at": AT, "nav": "30125.50", "total_pnl": "125.50", "hold": "30000",
                           "pnl_today": "40.10"}]},
    "balances": {"balances": [{"venue": "binance", "asset": "BTC", "total": "0.1", "usd": "5000.0"},
                              {"venue": "binance", "asset": "USDT", "total": "10000", "usd": "10000"}],
                 "nav": "15000.0"},
    "trades": {"trades": [{"execution_id": "9f2c", "client_order_id": "tw1a2b", "venue": "binance",
                           "symbol": "BTC/USDT", "side": "buy", "status": "filled", "filled_quantity": "0.01",
                           "price": "50000", "fee_usd": "0.5", "strategy": "momentum", "source": "signal",
                           "latency_ms": 41.5, "executed_at": AT}]},
    "opportunities": {"executed": [{"kind": "cross", "key": "BTC/USDT:binance>okx", "net_bps": "12.5",
                                    "realised": "1.20", "detected_at": AT}],
                      "near_misses": [{"kind": "cross", "key": "BTC/USDT:okx>binance", "reason": "inventory",
                                       "gross_bps": "20", "net_bps": "4", "at": AT, "detail": "short of BTC"}],
                      "by_reason": {"inventory": 1}},
    "risk": {"halted": False, "halt_reason": "", "halt_cause": "", "halted_by": "", "halted_at": None,
             "mode": "paper", "daily_pnl": "-120.00", "daily_loss_pct": "0.4000", "max_daily_loss_pct": 3.0,
             "win_rate": 0.6, "win_rate_trades": 5, "min_win_rate": 0.4, "avg_latency_ms": "41.5",
             "latency_orders": 4, "max_avg_latency_ms": 500.0,
             "limits": {"max_order_usd": "1000", "max_open_orders": 3}, "settings_version": 3},
    "latency": {"order_ms": {"p50": 40.0, "p99": 120.5, "n": 250}, "hot_path_us": {"p50": None, "p99": None, "n": 0}},
    "breakers": {"venues": [{"venue": "binance", "state": "closed", "reject_ratio": 0.0, "shunned": False}]},
    "settings": {"version": 3, "risk": {"limits": {"max_order_usd": "500"}, "panic": {"max_daily_loss_pct": 2.5},
                                        "sizing": {"base_order_usd": "1000"}},
                 "overrides": {"limits": {"max_order_usd": "500"}}, "mode": "paper", "updated_by": "api:admin:alice",
                 "updated_at": AT, "reason": "smaller orders while the market is thin"},
    "versions": {"versions": [{"version": 3, "risk": {"limits": {"max_order_usd": "500"}},
                               "updated_by": "api:admin:alice", "updated_at": AT, "reason": "thin market",
                               "restores": None}]},
    "cancel": {"client_order_id": "tw1a2b3c4d5e", "state": "cancelled", "venue_answer": "canceled"},
    "notifications": {"items": [{"kind": "risk_alert", "severity": "critical", "title": "Trading halted",
                                 "text": "daily loss 3.2% > 3%", "created_at": AT, "channel": "telegram"}]},
    "jobs": {"jobs": [{"job_id": "job-0a1b2c3d4e5f", "strategy": "momentum", "status": "recommended",
                       "created_at": AT, "current_report": {"sharpe": 0.4}, "recommended_report": {"sharpe": 0.9}}]},
    "run": {"job_id": "job-0a1b2c3d4e5f", "status": "requested"},
    "decision": {"job_id": "job-0a1b2c3d4e5f", "status": "approved", "version": 4, "control_published": True},
    "rollback": {"strategy": "momentum", "version": 5, "restores": 3, "values": {"fast": 12.0},
                 "control_published": True},
    "strategies": {"gate_enabled": True, "strategies": [
        {"name": "momentum", "state": "live", "trading": True, "since": AT, "paper_trades": 14, "params_version": 1,
         "why": "expectancy after fees +3.10 bps > 0 over the last 14 paper trades: gross +23.10 bps - "
                "round-trip fee 20.00 bps = +3.10 bps per trade",
         "figures": {"trades": 14, "expectancy_bps": 3.1, "gross_bps": 23.1, "round_trip_fee_bps": 20.0,
                     "win_rate": 0.5714}},
        {"name": "rsi", "state": "standing_aside", "trading": False, "since": AT, "paper_trades": 12,
         "params_version": 0,
         "why": "expectancy after fees -4.20 bps <= 0 over the last 12 paper trades: gross +15.80 bps - "
                "round-trip fee 20.00 bps = -4.20 bps per trade",
         "figures": {"trades": 12, "expectancy_bps": -4.2, "gross_bps": 15.8, "round_trip_fee_bps": 20.0,
                     "win_rate": 0.4167}},
        {"name": "breakout", "state": "warming_up", "trading": False, "since": None, "paper_trades": 3,
         "params_version": 0, "why": "3 of 10 scored paper trades: votes on paper until then",
         "figures": {"trades": 3, "min_trades": 10}}]},
    "audit": {"items": [{"kind": "settings_changed", "at": AT, "actor": "api:admin:alice",
                         "reason": "thin market", "details": {"version": 3, "previous_version": 2}}]},
}


ConsoleError = ErrorBody  # one error schema for the whole API


_ANSWERS = {400: "the body could not be read", 401: "missing or invalid bearer token",
            403: "the admin scope is needed", 404: "not found", 409: "conflict: a stale version or a final order",
            413: "the body is too large", 422: "invalid request, or a refused value (\"<field>: <why>\")",
            500: "internal error (with a reference to the log)", 502: "the venue did not take the request",
            503: "not configured or not available now"}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error answers a console route can give."""
    return {code: {"model": ConsoleError, "description": _ANSWERS[code]} for code in codes}
