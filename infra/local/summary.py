"""The end-of-run summary of a replay, computed from the store and the bus."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from shared.ledger.statement import statement
from shared.ledger.summary import ledger_check, reconcile
from shared.signals.lstm_report import lstm_summary
from shared.signals.standing import strategy_states


def _reason_key(reason: str) -> str:
    return reason.split(":", 1)[0]


def _handled(store, consumer: str, message_type: str) -> int:
    """Messages a step processed, from its idempotency claims (so a resumed run counts all)."""
    return len(store.query("processed", [("consumer", "==", consumer), ("type", "==", message_type)]))


def max_drawdown(curve: list[Decimal]) -> Decimal:
    peak, worst = None, Decimal(0)
    for value in curve:
        peak = value if peak is None or value > peak else peak
        worst = max(worst, peak - value)
    return worst


def build(pipeline) -> dict:
    store = pipeline.store
    denied = Counter()
    for _, doc in store.query("audit", [("kind", "==", "risk_denied")]):
        for reason in doc["reasons"]:
            denied[_reason_key(reason)] += 1
    approved = sum(1 for _, d in store.query("orders") if "cause_id" in d)
    execs = [d for _, d in store.query("executions")]
    fills = [d for d in execs if Decimal(d["filled_quantity"]) > 0]
    risk = store.get("state", "risk") or {}
    quote = pipeline.deps["risk"].config.portfolio.quote
    st = statement(store, quote)
    realised = sum((Decimal(d["realised_pnl_usd"]) for d in fills), Decimal(0))
    check = ledger_check(store)
    books = reconcile(store)
    days = [d for _, d in store.query("pnl_days", order_by="date")]
    sent_file = pipeline.cfg.run_dir / "notifications.jsonl"
    sent = len(sent_file.read_text().splitlines()) if sent_file.exists() else 0
    arbs = [d for _, d in store.query("arbitrage")]
    misses = Counter(d.get("reason", "?") for _, d in store.query("near_misses"))
    arb_fills = [d for d in fills if d.get("source") in ("arbitrage", "hedge")]
    summary = {
        "run_id": pipeline.cfg.run_id,
        "resumed": pipeline.cfg.resume,
        "seed": pipeline.cfg.seed,
        "hours": pipeline.cfg.hours,
        "venues": [v.name for v in pipeline.market.enabled_venues],
        "symbols": list(pipeline.market.symbols),
        "start": pipeline.cfg.start.isoformat(),
        "end": pipeline.clock.now().isoformat(),
        "bars_processed": _handled(store, "signal", "bar"),
        "signals": _handled(store, "risk", "signal"),
        "lstm": lstm_summary(store, configured=pipeline.cfg.predictor is not None),
        "strategies": {name: {"state": v["state"], "why": v["why"], "paper_trades": v["paper_trades"]}
                       for name, v in strategy_states(store).items()},
        "orders_approved": approved,
        "orders_denied": sum(denied.values()),
        "denied_by_reason": dict(sorted(denied.items())),
        "executions": len(execs),
        "fills": len(fills),
        "quote": quote,
        "start_balances": st["start_balances"],
        "start_capital_usd": _cents(st["start_capital_usd"]),
        "end_nav_usd": _cents(st["end_nav_usd"]),
        "total_pnl_usd": _cents(st["total_pnl_usd"]),
        "total_pnl_exact": str(st["total_pnl_usd"]),
        "return_pct": str(st["return_pct"].quantize(Decimal("0.0001"))),
        "buy_and_hold_usd": _cents(st["buy_and_hold_usd"]),
        "buy_and_hold_return_pct": str(st["buy_and_hold_return_pct"].quantize(Decimal("0.0001"))),
        "attribution_usd": {k: _cents(v) for k, v in st["attribution"].items()},
        "attribution_exact": {k: str(v) for k, v in st["attribution"].items()},
        "costs": {k: (str(int(v)) if k == "transfers" else _cents(v)) for k, v in st["costs"].items()},
        "fees_usd": _cents(st["costs"]["trading_fees_usd"]),
        "realised_pnl_usd": _cents(realised),
        "pnl_days": {d["date"]: str(d.get("pnl_usd", "0")) for d in days},
        "unpriced_assets": st["unpriced_assets"],
        "arbitrage_executed": len(arbs),
        "arbitrage_fills": len(arb_fills),
        "arbitrage_legging_losses": sum(1 for d in arbs if Decimal(d.get("legging_loss", "0")) > 0),
        "near_misses_by_reason": dict(sorted(misses.items())),
        "closed_trades": st["closed_trades"],
        "strategy_trades": st["strategy_trades"], "strategy_wins": st["strategy_wins"],
        "arbitrage_trades": st["arbitrage_trades"], "arbitrage_wins": st["arbitrage_wins"],
        "win_rate": st["win_rate"],
        "max_drawdown_usd": str(max_drawdown([v for _, v in pipeline.equity_curve]).quantize(Decimal("0.01"))),
        "notifications_sent": sent,
        "dlq_count": len(store.query("dlq", [("status", "==", "dead")])),
        "halted": bool(risk.get("halted")),
        "halt_cause": risk.get("halt_reason", ""),
        "ledger_check": check,
        "ledger_consistent": all(Decimal(v["difference"]).copy_abs() < Decimal("0.000001") for v in check.values()),
        "balances_reconcile": books,
        "balances_consistent": all(Decimal(v["difference"]) == 0 for v in books.values()),
    }
    return summary


def _cents(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def write(summary: dict, run_dir: Path) -> Path:
    path = Path(run_dir) / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path
