"""The risk step: signals → orders or denials; executions → ledger, panic brake and optimizer
loss triggers; scheduled control commands → daily reset, panic check, rebalance and cold sweep.

- Signal → RiskDecision (topic risk-decisions) always, plus an Order when approved; every
  denial carries its reasons and is written to `audit`.
- Execution → booked once (a duplicate changes nothing), rolling windows updated, the panic
  brake evaluated; a closing trade feeds the strategy's optimizer triggers (OptimizerRequest).
- Control: daily_reset (day roll, summary), panic_check (due transfers + brake), rebalance
  (due transfers, drift plans, cold sweep), halt/resume (alerts), set_mode (paper/live).
A brake trip halts in the same transaction and returns Control(halt) + a critical alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from shared.contracts import (
    Command,
    Control,
    Envelope,
    Execution,
    ExecutionStatus,
    Message,
    Order,
    RiskDecision,
    Side,
    Signal,
    client_order_id,
)
from shared.ledger import book, days, nav
from shared.ledger.money import split_symbol
from shared.notify.format import risk_halt, risk_resume
from shared.ports import Clock, Store, Transaction
from shared.rebalance import transfers
from shared.rebalance.evidence import gather as gather_evidence
from shared.risk import daily, exposure, panic, rules, settings, triggers
from shared.risk import state as risk_state
from shared.risk.config import RiskConfig, load_risk_config
from shared.risk.sizing import order_size_usd
from shared.sweep import sweeper
from shared.sweep.port import Withdrawer

QTY_STEP = Decimal("0.00001")
VENUE_REACHED = (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
MODES = ("paper", "live")


@dataclass(frozen=True)
class RiskDeps:
    config: RiskConfig
    clock: Clock
    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    withdrawers: Mapping[str, Withdrawer] = field(default_factory=dict)  # live sweeps only
    store: Store | None = None  # read outside the transaction: the rebalancer's capture evidence
    claims: Store | None = None  # where a live withdrawal is claimed before it is sent

    @property
    def sweep_claims(self) -> Store | None:
        """`claims`, else the store when it takes a write outside the open transaction
        (Firestore); with neither, live sweeps are refused."""
        if self.claims is not None:
            return self.claims
        return self.store if getattr(self.store, "independent_writes", False) else None
    reference_symbols: tuple[str, ...] = ()  # marks only (BNB/USDT, GBP/USDT): never traded

    @property
    def mark_symbols(self) -> tuple[str, ...]:
        """The marks every valuation reads: traded symbols, then the reference symbols."""
        return self.symbols + tuple(s for s in self.reference_symbols if s not in self.symbols)

    @property
    def assets(self) -> tuple[str, ...]:
        names = {self.config.portfolio.quote}
        for s in self.mark_symbols:
            names.update(split_symbol(s))
        return tuple(sorted(names))


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config", withdrawers=None) -> RiskDeps:
    from shared.config.venues import load_market_config

    market = load_market_config(Path(config_dir) / "venues.yaml")
    return RiskDeps(load_risk_config(Path(config_dir) / "risk.yaml"), clock,
                    tuple(v.name for v in market.enabled_venues), tuple(market.symbols),
                    dict(withdrawers or {}), store=store,
                    reference_symbols=tuple(r.symbol for r in market.reference_symbols))


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    config = settings.effective(tx, deps.config)  # the operator's limits over the file's
    if config is not deps.config:
        deps = replace(deps, config=config)
    if isinstance(body, Signal):
        return on_signal(body, envelope, tx, deps)
    if isinstance(body, Execution):
        return on_execution(body, tx, deps)
    if isinstance(body, Control):
        return on_control(body, envelope, tx, deps)
    return []


# -- state helpers -------------------------------------------------------------------------
def _figures(tx, deps: RiskDeps, marks) -> nav.Figures:
    """The one PnL computation (`shared.ledger.nav`) at the marks now."""
    return book.figures(tx, marks, deps.config.portfolio.quote)


def _ensure_day(tx: Transaction, deps: RiskDeps, marks: dict) -> risk_state.RiskState:
    """The state for today: first day opened (balances seeded once), a new UTC day rolled,
    the brake's loss reference re-based after a resume."""
    st = risk_state.load(tx)
    now = deps.clock.now()
    if not st.trading_day:
        book.seed_balances(tx, deps.venues, deps.config.portfolio.start_balances)
        book.ensure_started(tx, deps.venues, deps.assets)
        return daily.open_day(tx, st, _figures(tx, deps, marks), now)
    if daily.needs_roll(st, now):
        st = daily.roll(tx, st, _figures(tx, deps, marks), now)
    if st.rebase_pending:
        st = replace(st, brake_pnl=str(_figures(tx, deps, marks).total), rebase_pending=False)
    return st


# -- signals -----------------------------------------------------------------------------
def on_signal(sig: Signal, env: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    now = deps.clock.now()
    marks = book.marks(tx, deps.mark_symbols)
    marks.setdefault(sig.symbol, sig.price)
    st = _ensure_day(tx, deps, marks)
    pos = book.Position.from_doc(tx.get("positions", f"{sig.venue}:{sig.symbol}"), sig.venue, sig.symbol)
    _, quote = split_symbol(sig.symbol)
    price_usd = book.to_quote(sig.price, quote, marks, deps.config.portfolio.quote)
    fig = _figures(tx, deps, marks)
    equity = fig.nav
    peak = max(Decimal(st.peak_equity or "0"), equity)
    drawdown = float((peak - equity) / peak * 100) if peak > 0 else 0.0
    reasons: list[str] = []
    if sig.side is Side.SELL:
        qty, reduces, why = pos.quantity, True, "close the position"
        notional = qty * price_usd
        if qty <= 0:
            reasons.append("nothing_to_sell: no long position on this venue (spot, long-only)")
    else:
        results = [Decimal(r) for r in st.recent_results]
        notional, why = order_size_usd(results, equity, drawdown, deps.config.sizing)
        notional = min(notional, deps.config.limits.max_order_usd)
        qty = (notional / price_usd).quantize(QTY_STEP) if notional > 0 else Decimal(0)
        reduces = False
        if qty <= 0:
            reasons.append(f"sizing: {why}")
    held = exposure.measure(tx, deps.venues, deps.symbols, marks, deps.config.portfolio.quote,
                            sig.venue, sig.symbol, st, now, daily_pnl=st.daily_pnl(fig.total))
    reasons += rules.check(rules.Proposal(sig.side, notional, sig.confidence, reduces, now), held,
                           deps.config.limits, st.halted)
    risk_state.save(tx, replace(st, peak_equity=str(peak)))
    approved = not reasons
    decision = RiskDecision(
        cause_id=env.id, approved=approved, reasons=tuple(reasons), symbol=sig.symbol,
        venue=sig.venue, side=sig.side, requested_notional=notional,
        approved_quantity=qty if approved else Decimal(0), decided_at=now)
    if not approved:
        tx.put("audit", f"risk-denied-{env.id}", {
            "kind": "risk_denied", "at": now.isoformat(), "signal_id": env.id, "symbol": sig.symbol,
            "venue": sig.venue, "side": sig.side.value, "strategy": sig.strategy,
            "confidence": sig.confidence, "requested_notional": str(notional),
            "reasons": list(reasons), "sizing": why})
        return [decision]
    order = Order(
        client_order_id=client_order_id(env.id), venue=sig.venue, symbol=sig.symbol, side=sig.side,
        quantity=qty, reference_price=sig.price, reduce_only=reduces, strategy=sig.strategy,
        cause_id=env.id, created_at=now)
    exposure.order_opened(tx, order.client_order_id, now)
    tx.put("orders", order.client_order_id, {
        "status": "approved", "risk_open": True, "venue": order.venue, "symbol": order.symbol,
        "side": order.side.value, "quantity": str(order.quantity), "updated_at": now.isoformat(),
        "cause_id": env.id})
    return [decision, order]


# -- executions --------------------------------------------------------------------------
def on_execution(ex: Execution, tx: Transaction, deps: RiskDeps) -> list[Message]:
    if tx.get("executions", ex.execution_id) is not None:
        return []  # booked already (a duplicated execution changes nothing)
    now = deps.clock.now()
    marks = book.marks(tx, deps.mark_symbols)
    if ex.price > 0:
        marks.setdefault(ex.symbol, ex.price)
    st = _ensure_day(tx, deps, marks)
    booked = book.book_execution(tx, ex, marks, deps.config.portfolio.quote)
    pcfg = deps.config.panic
    if ex.status in VENUE_REACHED or ex.latency_ms > 0:
        st = st.record_latency(ex.latency_ms, pcfg.latency_window)
    out: list[Message] = []
    today = ex.executed_at.date().isoformat() == st.trading_day
    if booked.closed_trade:
        st = st.record_trade(booked.realised_usd, max(pcfg.win_rate_window, 50))
        st = replace(st, trades_today=st.trades_today + (1 if today else 0))
        request = triggers.on_closed_trade(tx, ex.strategy, booked.realised_usd,
                                           Decimal(st.start_equity or "0"), now,
                                           deps.config.optimizer_triggers)
        if request is not None:
            out.append(request)
    if today:  # a late fill from yesterday is in yesterday's pnl_days, not today's counters
        st = replace(st, realised_today=str(Decimal(st.realised_today) + booked.realised_usd),
                     fees_today=str(Decimal(st.fees_today) + booked.fee_usd))
    previous = tx.get("orders", ex.client_order_id) or {}
    if previous.get("risk_open"):
        exposure.order_closed(tx, ex.client_order_id)
    tx.put("orders", ex.client_order_id, {
        **previous, "risk_open": False, "status": ex.status.value,
        "updated_at": ex.executed_at.isoformat()})
    return out + _brake(tx, deps, st, marks)


def _brake(tx, deps: RiskDeps, st, marks) -> list[Message]:
    """Bring today's PnL record up to now, then evaluate the panic brake on that same figure;
    on a trip halt in this transaction, broadcast and alert."""
    fig = _figures(tx, deps, marks)
    days.refresh(tx, st.trading_day, fig)
    st = replace(st, peak_equity=str(max(Decimal(st.peak_equity or "0"), fig.nav)))
    _equity_point(tx, deps, st, fig)
    trip = None if st.halted else panic.evaluate(st, fig.total, deps.config.panic)
    if trip is None:
        risk_state.save(tx, st)
        return []
    now = deps.clock.now()
    st = st.halt(cause=trip.cause, reason=trip.reason, figures=trip.figures, actor="panic_brake", at=now)
    risk_state.save(tx, st)
    tx.put("audit", f"halt-{now.isoformat()}", {
        "kind": "halt", "at": now.isoformat(), "cause": trip.cause, "reason": trip.reason,
        "figures": trip.figures, "actor": "panic_brake"})
    return [
        Control(command=Command.HALT, reason=trip.reason, actor="panic_brake",
                args=dict(trip.figures, cause=trip.cause), issued_at=now),
        risk_halt(trip.reason, {"cause": trip.cause, **trip.figures}, now, actor="panic_brake"),
    ]


def _equity_point(tx, deps: RiskDeps, st, fig: nav.Figures) -> None:
    """One point per minute of the equity curve (`/v1/equity`, the console's chart)."""
    now = deps.clock.now()
    tx.put("equity", now.strftime("%Y%m%dT%H%M"), {
        "at": now.replace(second=0, microsecond=0).isoformat(), "nav": str(fig.nav),
        "total_pnl": str(fig.total), "hold": str(fig.hold), "pnl_today": str(st.daily_pnl(fig.total))})


# -- control -----------------------------------------------------------------------------
def on_control(ctl: Control, env: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    marks = book.marks(tx, deps.mark_symbols)
    now = deps.clock.now()
    quote = deps.config.portfolio.quote
    if ctl.command is Command.DAILY_RESET:
        return daily_reset(tx, deps, marks)
    if ctl.command is Command.PANIC_CHECK:
        st = _ensure_day(tx, deps, marks)
        out = transfers.complete_due(tx, now, marks, quote)
        return out + _brake(tx, deps, st, marks)
    if ctl.command is Command.REBALANCE:
        return rebalance_and_sweep(tx, deps, marks)
    if ctl.command is Command.RESUME:
        return [risk_resume(ctl.actor, ctl.issued_at or now, ctl.reason)]
    if ctl.command is Command.HALT and ctl.actor != "panic_brake":  # the brake alerts itself
        return [risk_halt(ctl.reason or "manual halt", dict(ctl.args), ctl.issued_at or now, actor=ctl.actor)]
    if ctl.command is Command.SET_MODE and ctl.args.get("mode") in MODES:
        st = risk_state.load(tx)
        risk_state.save(tx, replace(st, mode=ctl.args["mode"]))
        tx.put("audit", f"set-mode-{env.id}", {"kind": "set_mode", "at": now.isoformat(),
                                               "actor": ctl.actor, "from": st.mode, "to": ctl.args["mode"]})
    return []


def daily_reset(tx: Transaction, deps: RiskDeps, marks) -> list[Message]:
    """00:00 UTC: roll the day (idempotent: a second run the same day changes nothing).
    The daily report itself is sent by the notification step on the same Control."""
    st = _ensure_day(tx, deps, marks)
    days.refresh(tx, st.trading_day, _figures(tx, deps, marks))
    risk_state.save(tx, st)
    return []


def rebalance_and_sweep(tx: Transaction, deps: RiskDeps, marks) -> list[Message]:
    now, quote = deps.clock.now(), deps.config.portfolio.quote
    st = _ensure_day(tx, deps, marks)
    out = transfers.complete_due(tx, now, marks, quote)
    rcfg = deps.config.rebalance
    evidence = (gather_evidence(deps.store, now=now, horizon_hours=rcfg.horizon_hours, marks=marks, quote=quote)
                if deps.store is not None else None)  # no evidence of capture: nothing moves
    out += transfers.check(tx, venues=deps.venues, cfg=rcfg, marks=marks, quote=quote,
                           mode=st.mode, now=now, evidence=evidence)
    swept = sweeper.check(tx, venues=deps.venues, marks=marks, quote=quote,
                          nav=_figures(tx, deps, marks).nav, mode=st.mode, cfg=deps.config.sweep,
                          now=now, withdrawers=deps.withdrawers, claims=deps.sweep_claims)
    # a sweep pays into the cold wallet, which is part of NAV: capital moved, not a loss
    days.refresh(tx, st.trading_day, _figures(tx, deps, marks))
    risk_state.save(tx, st)
    return out + swept.messages
