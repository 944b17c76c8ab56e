"""The risk step: signals → orders or denials; executions → ledger and panic brake;
scheduled control commands → daily reset, panic check and the hourly summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from shared.contracts import (
    Command,
    Control,
    Envelope,
    Execution,
    Message,
    Notification,
    Order,
    RiskDecision,
    Side,
    Signal,
    client_order_id,
)
from shared.ledger import book
from shared.ledger.money import split_symbol
from shared.notify.format import risk_halt, risk_resume
from shared.ports import Clock, Transaction
from shared.risk import panic, rules
from shared.risk import state as risk_state
from shared.risk.config import RiskConfig, load_risk_config
from shared.risk.sizing import order_size_usd

QTY_STEP = Decimal("0.00001")


@dataclass(frozen=True)
class RiskDeps:
    config: RiskConfig
    clock: Clock
    venues: tuple[str, ...]
    symbols: tuple[str, ...]

    @property
    def assets(self) -> tuple[str, ...]:
        names = {self.config.portfolio.quote}
        for s in self.symbols:
            names.update(split_symbol(s))
        return tuple(sorted(names))


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config") -> RiskDeps:
    from shared.config.venues import load_market_config

    market = load_market_config(Path(config_dir) / "venues.yaml")
    return RiskDeps(load_risk_config(Path(config_dir) / "risk.yaml"), clock,
                    tuple(v.name for v in market.enabled_venues), tuple(market.symbols))


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    if isinstance(body, Signal):
        return on_signal(body, envelope, tx, deps)
    if isinstance(body, Execution):
        return on_execution(body, tx, deps)
    if isinstance(body, Control):
        return on_control(body, envelope, tx, deps)
    return []


# -- state helpers -------------------------------------------------------------------------
def _ensure_day(tx: Transaction, deps: RiskDeps, marks: dict) -> risk_state.RiskState:
    """Open the trading day on first use (start equity fixed); balances seeded once."""
    st = risk_state.load(tx)
    if not st.trading_day:
        book.seed_balances(tx, deps.venues, deps.config.portfolio.start_balances)
        eq = book.equity_usd(tx, deps.venues, deps.assets, marks, deps.config.portfolio.quote)
        st = replace(st, trading_day=deps.clock.now().date().isoformat(),
                     start_equity=str(eq), peak_equity=str(eq))
    return st


def _equity(tx, deps, marks) -> Decimal:
    return book.equity_usd(tx, deps.venues, deps.assets, marks, deps.config.portfolio.quote)


# -- signals -----------------------------------------------------------------------------
def on_signal(sig: Signal, env: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    now = deps.clock.now()
    marks = book.marks(tx, deps.symbols)
    marks.setdefault(sig.symbol, sig.price)
    st = _ensure_day(tx, deps, marks)
    pos = book.Position.from_doc(tx.get("positions", f"{sig.venue}:{sig.symbol}"), sig.venue, sig.symbol)
    _, quote = split_symbol(sig.symbol)
    price_usd = book.to_quote(sig.price, quote, marks, deps.config.portfolio.quote)
    equity = _equity(tx, deps, marks)
    peak = max(Decimal(st.peak_equity or "0"), equity)
    drawdown = float((peak - equity) / peak * 100) if peak > 0 else 0.0
    reasons: list[str] = []
    if sig.side is Side.SELL:
        qty = pos.quantity
        notional = qty * price_usd
        reduces = True
        if qty <= 0:
            reasons.append("nothing_to_sell: no long position on this venue (spot, long-only)")
        why = "close the position"
    else:
        results = [Decimal(r) for r in st.recent_results]
        notional, why = order_size_usd(results, equity, drawdown, deps.config.sizing)
        notional = min(notional, deps.config.limits.max_order_usd)
        qty = (notional / price_usd).quantize(QTY_STEP) if notional > 0 else Decimal(0)
        reduces = False
        if qty <= 0:
            reasons.append(f"sizing: {why}")
    exposure = _exposure(tx, deps, sig, marks, st)
    reasons += rules.check(
        rules.Proposal(sig.side, notional, sig.confidence, reduces, now), exposure,
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
            "venue": sig.venue, "side": sig.side.value, "reasons": list(reasons), "sizing": why})
        return [decision]
    order = Order(
        client_order_id=client_order_id(env.id), venue=sig.venue, symbol=sig.symbol, side=sig.side,
        quantity=qty, reference_price=sig.price, reduce_only=reduces, strategy=sig.strategy,
        cause_id=env.id, created_at=now)
    _count_open(tx, +1)
    tx.put("orders", order.client_order_id, {
        "status": "approved", "risk_open": True, "venue": order.venue, "symbol": order.symbol, "side": order.side.value,
        "quantity": str(order.quantity), "updated_at": now.isoformat(), "cause_id": env.id})
    return [decision, order]


def _exposure(tx, deps: RiskDeps, sig: Signal, marks, st) -> rules.Exposure:
    position_usd = gross = venue_usd = Decimal(0)
    for venue in deps.venues:
        for symbol in deps.symbols:
            doc = tx.get("positions", f"{venue}:{symbol}")
            if not doc:
                continue
            qty = Decimal(doc["quantity"])
            _, quote = split_symbol(symbol)
            mark = marks.get(symbol) or Decimal(doc["mark_price"])
            usd = book.to_quote(qty * mark, quote, marks, deps.config.portfolio.quote)
            gross += usd
            venue_usd += usd if venue == sig.venue else 0
            position_usd += usd if symbol == sig.symbol else 0
    open_doc = tx.get("state", "open_orders") or {"count": 0}
    return rules.Exposure(position_usd, gross, venue_usd, int(open_doc["count"]),
                          Decimal(st.realised_today),
                          Decimal(st.start_equity or "0"))


def _count_open(tx: Transaction, delta: int) -> None:
    doc = tx.get("state", "open_orders") or {"count": 0}
    tx.put("state", "open_orders", {"count": max(0, int(doc["count"]) + delta)})


# -- executions --------------------------------------------------------------------------
def on_execution(ex: Execution, tx: Transaction, deps: RiskDeps) -> list[Message]:
    if tx.get("executions", ex.execution_id) is not None:
        return []  # booked already (a duplicated execution changes nothing)
    marks = book.marks(tx, deps.symbols)
    marks.setdefault(ex.symbol, ex.price or Decimal(1))
    st = _ensure_day(tx, deps, marks)
    booked = book.book_execution(tx, ex, marks, deps.config.portfolio.quote)
    pcfg = deps.config.panic
    st = st.record_latency(ex.latency_ms, pcfg.latency_window)
    if booked.closed_trade:
        st = st.record_trade(booked.realised_usd, max(pcfg.win_rate_window, 50))
    st = replace(st, realised_today=str(Decimal(st.realised_today) + booked.realised_usd),
                 fees_today=str(Decimal(st.fees_today) + booked.fee_usd))
    previous = tx.get("orders", ex.client_order_id) or {}
    if previous.get("risk_open"):
        _count_open(tx, -1)
    tx.put("orders", ex.client_order_id, {
        **previous, "risk_open": False, "status": ex.status.value,
        "updated_at": ex.executed_at.isoformat()})
    return _brake(tx, deps, st, marks)


def _brake(tx, deps: RiskDeps, st, marks) -> list[Message]:
    equity = _equity(tx, deps, marks)
    st = replace(st, peak_equity=str(max(Decimal(st.peak_equity or "0"), equity)))
    trip = None if st.halted else panic.evaluate(st, equity, deps.config.panic)
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
        risk_halt(trip.reason, trip.figures, now, actor="panic_brake"),
    ]


# -- control -----------------------------------------------------------------------------
def on_control(ctl: Control, env: Envelope, tx: Transaction, deps: RiskDeps) -> list[Message]:
    marks = book.marks(tx, deps.symbols)
    if ctl.command is Command.DAILY_RESET:
        return daily_reset(tx, deps, marks)
    if ctl.command is Command.PANIC_CHECK:
        return _brake(tx, deps, _ensure_day(tx, deps, marks), marks)
    if ctl.command is Command.RESUME:
        return [risk_resume(ctl.actor, ctl.issued_at or deps.clock.now(), ctl.reason)]
    return []


def daily_reset(tx: Transaction, deps: RiskDeps, marks) -> list[Message]:
    now = deps.clock.now()
    st = _ensure_day(tx, deps, marks)
    today = now.date().isoformat()
    if st.trading_day == today and st.start_equity != "0" and st.realised_today == "0":
        return []
    equity = _equity(tx, deps, marks)
    previous = st.trading_day
    summary = {"date": previous, "realised_pnl_usd": st.realised_today, "fees_usd": st.fees_today,
               "start_equity": st.start_equity, "end_equity": str(equity), "closed_at": now.isoformat()}
    tx.put("daily_summaries", previous, summary)
    risk_state.save(tx, replace(st, trading_day=today, start_equity=str(equity),
                                realised_today="0", fees_today="0", peak_equity=str(equity)))
    pnl = equity - Decimal(st.start_equity)
    return [Notification(
        kind="daily_report", title=f"Daily report {previous}",
        text=f"Equity {equity:.2f} USDT, day PnL {pnl:+.2f} USDT",
        fields=tuple((k, str(v)) for k, v in summary.items()),
        dedupe_key=f"daily:{previous}", created_at=now)]
