"""The end-of-run summary of a replay, computed from the store and the bus."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from shared.ledger.summary import ledger_check, trading_pnl


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
    trades = [Decimal(d["pnl_usd"]) for _, d in store.query("trades")]
    risk = store.get("state", "risk") or {}
    fees = sum((Decimal(d["fee_usd"]) for d in fills), Decimal(0))
    realised = sum((Decimal(d["realised_pnl_usd"]) for d in fills), Decimal(0))
    total = trading_pnl(store)
    check = ledger_check(store)
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
        "orders_approved": approved,
        "orders_denied": sum(denied.values()),
        "denied_by_reason": dict(sorted(denied.items())),
        "executions": len(execs),
        "fills": len(fills),
        "fees_usd": str(fees.quantize(Decimal("0.01"))),
        "realised_pnl_usd": str(realised.quantize(Decimal("0.01"))),
        "total_pnl_usd": str(total.quantize(Decimal("0.01"))),
        "arbitrage_executed": len(arbs),
        "arbitrage_fills": len(arb_fills),
        "arbitrage_legging_losses": sum(1 for d in arbs if Decimal(d.get("legging_loss", "0")) > 0),
        "near_misses_by_reason": dict(sorted(misses.items())),
        "closed_trades": len(trades),
        "win_rate": round(sum(1 for t in trades if t > 0) / len(trades), 4) if trades else None,
        "max_drawdown_usd": str(max_drawdown([v for _, v in pipeline.equity_curve]).quantize(Decimal("0.01"))),
        "notifications_sent": sent,
        "dlq_count": len(store.query("dlq", [("status", "==", "dead")])),
        "halted": bool(risk.get("halted")),
        "halt_cause": risk.get("halt_reason", ""),
        "ledger_check": check,
        "ledger_consistent": all(Decimal(v["difference"]).copy_abs() < Decimal("0.000001") for v in check.values()),
    }
    return summary


def write(summary: dict, run_dir: Path) -> Path:
    path = Path(run_dir) / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path
