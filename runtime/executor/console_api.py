"""The console's `/v1` routes (docs: the console contract): read models for every view and
the audited admin actions. Thin: check the scope, validate, call `readmodel` or
`console_actions`, shape the answer.

Read routes need the read token (or admin); every POST/PUT needs the admin token. A refused
action answers `{"error": msg, "detail": msg}` with its status (404 unknown, 409 conflict or
stale version, 422 a bad value named "<field>: <why>", 502 the venue, 503 not configured).

What the router reads beside the service's ports, each optional (from the keyword, else the
service attribute of the same name): `risk_config` (shared.risk.config.RiskConfig, else
`$TW_CONFIG_DIR/risk.yaml` when present), `accounts` (venue -> the Exchange-shaped account
reconciliation reads: the cancel goes through it), `hot_path_us` (a callable giving the
hot path's recent decision times in µs), `strategies` (the configured strategy names, else
the enabled ones of `$TW_CONFIG_DIR/strategies`) and `standing` (the gate's
shared.signals.standing.StandingConfig, else `$TW_CONFIG_DIR/signals.yaml`'s, else the default).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from runtime.executor import console_actions as actions
from runtime.executor import readmodel
from runtime.executor.api import NAME, ORDER_ID, SYMBOL
from runtime.executor.auth import ADMIN, READ, Principal, TokenAuth
from runtime.executor.console_models import (
    EXAMPLES,
    JOB_ID,
    STRATEGY,
    OptimizerRun,
    Reason,
    Rollback,
    SettingsChange,
    SettingsRestore,
    StrategiesView,
    answers,
    ok,
)
from runtime.executor.service import ExecutorService
from shared.risk.config import RiskConfig, load_risk_config
from shared.signals.standing import StandingConfig, load_standing_config

READS = answers(401, 403, 422, 500)
WRITES = answers(400, 401, 403, 413, 422, 500)


def _config_dir() -> Path:
    return Path(os.environ.get("TW_CONFIG_DIR", "config"))


def _risk_from_file() -> RiskConfig | None:
    path = _config_dir() / "risk.yaml"
    return load_risk_config(path) if path.exists() else None


def _strategies_from_files() -> tuple[str, ...]:
    from shared.strategies.config import load_strategies

    root = _config_dir() / "strategies"
    return tuple(s.name for s in load_strategies(root) if s.enabled) if root.is_dir() else ()


def _refused(exc: actions.ActionError) -> JSONResponse:
    return JSONResponse({"error": exc.message, "detail": exc.message}, status_code=exc.status)


def _actor(who: Principal, body: Any) -> str:
    return f"{who.name}:{body.operator}" if body.operator else who.name


def console_api_router(service: ExecutorService, auth: TokenAuth, *, risk_config: RiskConfig | None = None,
                       accounts: dict[str, Any] | None = None,
                       hot_path_us: Callable[[], Sequence[float]] | None = None,
                       strategies: Sequence[str] | None = None,
                       standing: StandingConfig | None = None) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["console"])
    read, admin = Depends(auth.require(READ)), Depends(auth.require(ADMIN))
    store = service.store
    risk = risk_config or getattr(service, "risk_config", None) or _risk_from_file()
    accounts = accounts if accounts is not None else getattr(service, "accounts", None)
    hot_path_us = hot_path_us or getattr(service, "hot_path_us", None)
    quote = risk.portfolio.quote if risk else (service.orders.usd if service.orders else "USDT")
    configured = tuple(strategies if strategies is not None else getattr(service, "strategies", None)
                       or _strategies_from_files())
    standing = standing or getattr(service, "standing", None) or load_standing_config(_config_dir())

    def act(fn: Callable[[], dict]) -> Any:
        try:
            return fn()
        except actions.ActionError as exc:
            return _refused(exc)

    # -- reads -------------------------------------------------------------------------------
    @router.get("/equity", dependencies=[read], responses={**ok(EXAMPLES["equity"]), **READS})
    def equity(limit: int = Query(1440, ge=1, le=20160, description="latest points, one a minute")) -> dict:
        """NAV, total PnL, buy and hold and today's PnL per minute, oldest first."""
        return readmodel.equity(store, limit)

    @router.get("/balances", dependencies=[read], responses={**ok(EXAMPLES["balances"]), **READS})
    def balances() -> dict:
        """Every balance per venue and asset (transit and cold included) valued at the marks."""
        return readmodel.balances(store, quote)

    @router.get("/trades", dependencies=[read], responses={**ok(EXAMPLES["trades"]), **READS})
    def trades(strategy: str | None = Query(None, pattern=NAME), venue: str | None = Query(None, pattern=NAME),
               symbol: str | None = Query(None, pattern=SYMBOL),
               source: str | None = Query(None, pattern=NAME, description="signal, arbitrage, hedge, manual..."),
               limit: int = Query(200, ge=1, le=1000)) -> dict:
        """Fills and refusals (execution documents), newest first."""
        return readmodel.trades(store, limit, strategy=strategy, venue=venue, symbol=symbol, source=source)

    @router.get("/opportunities", dependencies=[read], responses={**ok(EXAMPLES["opportunities"]), **READS})
    def opportunities(limit: int = Query(100, ge=1, le=1000),
                      reason: str | None = Query(None, pattern=NAME, description="near misses of one reason")) -> dict:
        """Executed arbitrages and near misses with their reasons, newest first."""
        return readmodel.opportunities(store, limit, reason)

    @router.get("/risk", dependencies=[read], responses={**ok(EXAMPLES["risk"]), **READS})
    def risk_state() -> dict:
        """The halt flag and the panic brake's figures against their limits."""
        return readmodel.risk(store, risk, quote)

    @router.get("/latency", dependencies=[read], responses={**ok(EXAMPLES["latency"]), **READS})
    def latency() -> dict:
        """Order round trip (ms) over the latest executions; hot-path decision time (µs)."""
        return readmodel.latency(store, hot_path_us)

    @router.get("/breakers", dependencies=[read], responses={**ok(EXAMPLES["breakers"]), **READS})
    def breakers() -> dict:
        """Breaker state, reject ratio and routing shift per venue."""
        return readmodel.breakers(service.orders.router if service.orders else None, service.clock.now())

    @router.get("/settings", dependencies=[read], responses={**ok(EXAMPLES["settings"]), **READS})
    def get_settings() -> dict:
        """The risk limits in force (file + current version), the version and who set it."""
        return readmodel.settings_view(store, risk)

    @router.get("/settings/versions", dependencies=[read], responses={**ok(EXAMPLES["versions"]), **READS})
    def settings_versions(limit: int = Query(100, ge=1, le=1000)) -> dict:
        """Every stored version, newest first (version 0 is the file's values)."""
        return readmodel.settings_versions(store, limit)

    @router.get("/notifications/recent", dependencies=[read],
                responses={**ok(EXAMPLES["notifications"]), **READS})
    def notifications(limit: int = Query(50, ge=1, le=500)) -> dict:
        """The latest notifications delivered, newest first."""
        return readmodel.notifications(store, limit)

    @router.get("/optimizer/jobs", dependencies=[read], responses={**ok(EXAMPLES["jobs"]), **READS})
    def optimizer_jobs(limit: int = Query(50, ge=1, le=500)) -> dict:
        """Optimizer jobs with their reports, newest first."""
        return readmodel.optimizer_jobs(store, limit)

    @router.get("/audit", dependencies=[read], responses={**ok(EXAMPLES["audit"]), **READS})
    def audit(limit: int = Query(50, ge=1, le=1000)) -> dict:
        """Audit entries (who did what and why), newest first."""
        return readmodel.audit(store, limit)

    @router.get("/console/strategies", dependencies=[read], response_model=StrategiesView,
                responses={**ok(EXAMPLES["strategies"]), **READS})
    def strategy_states() -> dict:
        """Each strategy's state: live (trades with its weight), standing aside or warming up
        (votes on paper only), why in numbers, since when, its params version."""
        return readmodel.strategies(store, configured, standing)

    # -- admin actions ----------------------------------------------------------------------------
    @router.put("/settings", responses={**ok(EXAMPLES["settings"], "the new version"), **WRITES,
                                        **answers(409, 503)})
    def put_settings(body: SettingsChange, who: Principal = admin) -> Any:
        """Change risk limits: a new version if `expected_version` is the current one."""
        def change() -> dict:
            actions.put_settings(store, risk, body.risk, expected_version=body.expected_version,
                                 actor=_actor(who, body), reason=body.reason, at=service.clock.now())
            return readmodel.settings_view(store, risk)

        return act(change)

    @router.post("/settings/restore", responses={**ok(EXAMPLES["settings"], "the new version"), **WRITES,
                                                 **answers(404, 503)})
    def restore_settings(body: SettingsRestore, who: Principal = admin) -> Any:
        """Make an earlier version current again, as a new version."""
        def restore() -> dict:
            actions.restore_settings(store, risk, body.version, actor=_actor(who, body), reason=body.reason,
                                     at=service.clock.now())
            return readmodel.settings_view(store, risk)

        return act(restore)

    @router.post("/orders/{order_id}/cancel", responses={**ok(EXAMPLES["cancel"]), **WRITES,
                                                         **answers(404, 409, 502)})
    def cancel(body: Reason, order_id: str = PathParam(pattern=ORDER_ID), who: Principal = admin) -> Any:
        """Cancel an open order at its venue, then settle it to the venue's answer."""
        return act(lambda: actions.cancel_order(
            store, accounts, order_id, actor=_actor(who, body), reason=body.reason, at=service.clock.now(),
            publish_pending=service.publish_pending))

    @router.post("/optimizer/jobs", responses={**ok(EXAMPLES["run"], "requested"), **WRITES, **answers(503)})
    def run_optimizer(body: OptimizerRun, who: Principal = admin) -> Any:
        """Ask the optimizer for a new search (an OptimizerRequest on optimizer-requests)."""
        return act(lambda: actions.run_optimizer(
            store, service.bus, body.strategy, body.window_days, actor=_actor(who, body), reason=body.reason,
            at=service.clock.now()))

    @router.post("/optimizer/jobs/{job_id}/approve", responses={**ok(EXAMPLES["decision"]), **WRITES,
                                                                **answers(404, 409)})
    def approve(body: Reason, job_id: str = PathParam(pattern=JOB_ID), who: Principal = admin) -> Any:
        """Apply a recommended job's parameters as a new version."""
        return act(lambda: actions.decide_job(store, service.bus, job_id, True, actor=_actor(who, body),
                                              reason=body.reason, at=service.clock.now()))

    @router.post("/optimizer/jobs/{job_id}/reject", responses={
        **ok({**EXAMPLES["decision"], "status": "rejected", "version": None, "control_published": None}),
        **WRITES, **answers(404, 409)})
    def reject(body: Reason, job_id: str = PathParam(pattern=JOB_ID), who: Principal = admin) -> Any:
        """Discard a recommended job."""
        return act(lambda: actions.decide_job(store, service.bus, job_id, False, actor=_actor(who, body),
                                              reason=body.reason, at=service.clock.now()))

    @router.post("/params/{strategy}/rollback", responses={**ok(EXAMPLES["rollback"]), **WRITES,
                                                           **answers(404, 409)})
    def rollback(body: Rollback, strategy: str = PathParam(pattern=STRATEGY), who: Principal = admin) -> Any:
        """Make an earlier parameter version current again, as a new version."""
        return act(lambda: actions.rollback(store, service.bus, strategy, body.version, actor=_actor(who, body),
                                            reason=body.reason, at=service.clock.now()))

    return router
