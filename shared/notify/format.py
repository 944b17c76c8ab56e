"""Build the Notification of every kind from domain facts, with money and times formatted.

Kinds: startup, trade, risk_alert (halt with cause and figures / resume with who),
hourly_summary, daily_report, optimizer (Approve/Reject buttons), outage. Money is shown
in its quote currency with a sign ("+12.34 USDT", "-5.00 USDT"); times are UTC. The
channel-specific rendering (MarkdownV2, Slack, plain text) is in `shared.notify.render`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.contracts import (
    Button,
    Execution,
    ExecutionStatus,
    Notification,
    OptimizerResult,
    Severity,
)
from shared.notify.summary import PeriodSummary

FIAT_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "FDUSD", "TUSD", "EUR", "GBP"})
CALLBACK_APPROVE = "approve"
CALLBACK_REJECT = "reject"


# -- numbers and times -------------------------------------------------------------------
def money(amount: Decimal | str | int, currency: str, signed: bool = True) -> str:
    """'+1,234.50 USDT', '-5.00 USDT', '0.00 USDT'; 8 places for crypto quote currencies."""
    value = Decimal(str(amount))
    places = Decimal("0.01") if currency.upper() in FIAT_LIKE else Decimal("0.00000001")
    value = value.quantize(places, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:,} {currency}"


def number(value: Decimal | str | float) -> str:
    """A price or quantity without exponent or trailing zeros: 27123.5, 0.0015."""
    d = Decimal(str(value))
    return format(d.normalize(), "f") if d != d.to_integral() else format(d.quantize(1), "f")


def pct(value: float | Decimal | None, places: int = 1) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.{places}f}%"


def utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def quote_of(symbol: str) -> str:
    """'BTC/USDT' → 'USDT'; 'BTC/USDT:USDT' (a swap) → 'USDT'."""
    return symbol.split("/", 1)[-1].split(":", 1)[0] if "/" in symbol else symbol


# -- kinds -------------------------------------------------------------------------------
def startup(mode: str, at: datetime, version: str = "", venues: tuple[str, ...] = (),
            strategies: tuple[str, ...] = ()) -> Notification:
    fields = [("Mode", mode)]
    if version:
        fields.append(("Version", version))
    if venues:
        fields.append(("Venues", ", ".join(venues)))
    if strategies:
        fields.append(("Strategies", ", ".join(strategies)))
    return Notification(
        kind="startup", severity=Severity.INFO, title="Tradewinds started",
        text=f"Trading in {mode} mode.", fields=tuple(fields),
        dedupe_key=f"startup:{version}:{at:%Y%m%dT%H%M}", created_at=at,
    )


def trade_alert(execution: Execution, realised_pnl: Decimal | None = None) -> Notification:
    e = execution
    quote = quote_of(e.symbol)
    filled = e.status in (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
    fields: list[tuple[str, str]] = [
        ("Venue", e.venue), ("Symbol", e.symbol), ("Side", e.side.value.upper()),
    ]
    if filled:
        size = number(e.filled_quantity)
        if e.status is ExecutionStatus.PARTIALLY_FILLED:
            size += f" of {number(e.requested_quantity)}"
        fields += [
            ("Size", size),
            ("Price", f"{number(e.price)} {quote}"),
            ("Notional", money(e.notional, quote, signed=False)),
            ("Fees", money(-e.fee, e.fee_currency) if e.fee else money(0, e.fee_currency)),
            ("PnL", money(realised_pnl, quote) if realised_pnl is not None else "open"),
            ("Slippage", f"{e.slippage_bps:.1f} bps"),
        ]
        title = f"{'Partial fill' if e.status is ExecutionStatus.PARTIALLY_FILLED else 'Filled'}:" \
                f" {e.side.value.upper()} {e.symbol}"
        severity = Severity.INFO
    else:
        fields += [("Size", number(e.requested_quantity)), ("Status", e.status.value)]
        title = f"Order {e.status.value}: {e.side.value.upper()} {e.symbol}"
        severity = Severity.WARNING
    fields += [("Strategy", e.strategy), ("Latency", f"{e.latency_ms:.0f} ms"),
               ("Time", utc(e.executed_at))]
    return Notification(
        kind="trade", severity=severity, title=title, text=e.reason,
        fields=tuple(fields), dedupe_key=f"trade:{e.execution_id}", created_at=e.executed_at,
    )


def risk_halt(cause: str, figures: Mapping[str, Any], at: datetime,
              actor: str = "risk") -> Notification:
    """The panic brake (or an operator) halted trading: say why, with the figures."""
    fields = tuple((str(k), _text(v)) for k, v in figures.items()) + (
        ("Halted by", actor), ("Time", utc(at)))
    return Notification(
        kind="risk_alert", severity=Severity.CRITICAL, title="Trading halted",
        text=f"Cause: {cause}. New trading is stopped until an authenticated resume.",
        fields=fields, dedupe_key=f"risk_alert:halt:{cause}", created_at=at,
    )


def risk_resume(who: str, at: datetime, reason: str = "") -> Notification:
    fields = [("Resumed by", who), ("Time", utc(at))]
    if reason:
        fields.insert(1, ("Reason", reason))
    return Notification(
        kind="risk_alert", severity=Severity.WARNING, title="Trading resumed",
        text=f"Trading resumed by {who}.", fields=tuple(fields),
        dedupe_key=f"risk_alert:resume:{at.isoformat()}", created_at=at,
    )


def _summary_fields(s: PeriodSummary) -> list[tuple[str, str]]:
    q = s.quote_currency
    fields: list[tuple[str, str]] = [("PnL", money(s.pnl.get(q, 0), q))]
    volume = s.volume or {q: Decimal(0)}
    for ccy in sorted(volume):
        suffix = f" ({ccy})" if len(volume) > 1 else ""
        fields.append((f"Volume{suffix}", money(volume[ccy], ccy, signed=False)))
    fields.append(("Fees", money(-s.fees.get(q, Decimal(0)), q)))
    fields += [("Trades", f"{s.trades} ({s.closed} closed)"),
               ("Win rate", f"{pct(s.win_rate)} ({s.wins}W/{s.losses}L)")]
    if s.best is not None:
        best = f"{s.best.symbol} {s.best.venue} {money(s.best.pnl, s.best.quote)}"
        fields.append(("Best trade", best))
    if s.worst is not None:
        worst = f"{s.worst.symbol} {s.worst.venue} {money(s.worst.pnl, s.worst.quote)}"
        fields.append(("Worst trade", worst))
    for ccy, value in sorted(s.exposure.items()) or [(s.quote_currency, Decimal(0))]:
        fields.append((f"Open exposure ({ccy})", money(value, ccy, signed=False)))
    return fields


def _pnl_fields(view, q: str) -> list[tuple[str, str]]:
    """The one PnL (shared.ledger.nav): today, since start and the NAV behind them."""
    if view is None:
        return []
    return [("PnL today", money(view.today, q)), ("PnL since start", money(view.total, q)),
            ("NAV", money(view.nav, q, signed=False))]


def hourly_summary(s: PeriodSummary, view=None) -> Notification:
    return Notification(
        kind="hourly_summary", severity=Severity.INFO,
        title=f"Hourly summary {s.start:%H:%M}–{s.end:%H:%M} UTC",
        text=" ".join(s.commentary), fields=tuple(_summary_fields(s) + _pnl_fields(view, s.quote_currency)),
        dedupe_key=f"hourly_summary:{s.end:%Y%m%dT%H%M}", created_at=s.end,
    )


def daily_report(s: PeriodSummary, view=None) -> Notification:
    fields = _summary_fields(s) + _pnl_fields(view, s.quote_currency)
    if view is not None:  # attribution since start: sums to "PnL since start"
        for name, pnl in view.attribution.items():
            fields.append((f"From {name}", money(pnl, s.quote_currency)))
    else:
        for name, pnl in sorted(s.by_strategy.items()):
            fields.append((f"Strategy {name}", money(pnl, s.quote_currency)))
    return Notification(
        kind="daily_report", severity=Severity.INFO, title=f"Daily report {s.start:%Y-%m-%d}",
        text=" ".join(s.commentary), fields=tuple(fields),
        dedupe_key=f"daily_report:{s.start:%Y%m%d}", created_at=s.end,
    )


_REPORT_KEYS = ("total_return_pct", "sharpe", "win_rate", "max_drawdown_pct", "trades")


def optimizer_recommendation(result: OptimizerResult) -> Notification:
    r = result
    fields: list[tuple[str, str]] = [("Strategy", r.strategy), ("Job", r.job_id)]
    for key in sorted(set(r.current_params) | set(r.recommended_params)):
        old, new = r.current_params.get(key, "–"), r.recommended_params.get(key, "–")
        if old != new:
            fields.append((f"param {key}", f"{_text(old)} → {_text(new)}"))
    for key in _REPORT_KEYS:
        if key in r.current_report or key in r.recommended_report:
            old = _text(r.current_report.get(key, "–"))
            new = _text(r.recommended_report.get(key, "–"))
            fields.append((key, f"{old} → {new}"))
    buttons: tuple[Button, ...] = ()
    if r.status == "recommended":
        buttons = (Button(text="✅ Approve", callback_data=f"{CALLBACK_APPROVE}:{r.job_id}"),
                   Button(text="❌ Reject", callback_data=f"{CALLBACK_REJECT}:{r.job_id}"))
        title = f"Optimizer recommends new {r.strategy} parameters"
    else:
        title = f"Optimizer {r.status}: {r.strategy}"
    return Notification(
        kind="optimizer", severity=Severity.WARNING if r.status == "failed" else Severity.INFO,
        title=title, text=r.note, fields=tuple(fields), buttons=buttons,
        dedupe_key=f"optimizer:{r.job_id}", created_at=r.finished_at,
    )


def outage(component: str, target: str, detail: str, at: datetime,
           resolved: bool = False, since: datetime | None = None) -> Notification:
    """A feed or venue went down (WARNING) or came back (INFO)."""
    fields = [("Component", component), ("Target", target)]
    if since is not None:
        fields.append(("Since", utc(since)))
    state = "restored" if resolved else "down"
    return Notification(
        kind="outage", severity=Severity.INFO if resolved else Severity.WARNING,
        title=f"{component} {target} {state}", text=detail, fields=tuple(fields),
        dedupe_key=f"outage:{component}:{target}:{state}", created_at=at,
    )


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
