"""What the console reads: small functions over a Store (and the service's in-memory parts),
each shaping one `/v1` answer. Nothing here writes.

Money and quantities are decimal strings (`format(d, "f")`: never an exponent); times are the
ISO-8601 UTC strings the documents hold. Sources (collection → answer):

- `equity` (one point per minute, written by the risk step) → `equity`, oldest first;
- `balances/{venue}:{asset}` valued at `shared.ledger.nav.asset_prices` over `marks/` →
  `balances`; NAV is the sum of the priced ones (an unpriced asset has `usd` null);
- `executions` → `trades`; `arbitrage` and `near_misses` → `opportunities`;
- `state/risk` + the effective RiskConfig (`shared.risk.settings.effective`) + the one PnL
  (`shared.ledger.summary.figures`, `shared.ledger.days.day_pnl`) → `risk`;
- executions' `latency_ms` (and hot-path samples in µs when given) → `latency`, p50/p99 by
  nearest rank (the value at position ceil(q·n) of the sorted samples);
- `notifications_recent` when anything writes it, else `notify_dedupe` (what the dispatcher
  records of each delivery: kind, severity, channel, sent_at; no title or text) → `notifications`;
- `optimizer_jobs`, `audit`, `settings/current`, `settings_versions`;
- `strategy_state/{voter}` (shared.signals.standing.strategy_states) + the configured
  strategies + the gate's switch (config/signals.yaml) → `strategies`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.ledger import days, nav, summary
from shared.ports import Store
from shared.risk import settings
from shared.risk.config import RiskConfig
from shared.risk.state import RiskState
from shared.signals import standing as gate

ZERO = Decimal(0)
PCT_PLACES = Decimal("0.0001")
BY_REASON_WINDOW = 5000  # near misses counted by reason (the latest ones)
LATENCY_WINDOW = 1000    # executions whose latency is summarised (the latest ones)


def dec(value: Decimal) -> str:
    return format(value, "f")


def _newest(store: Store, collection: str, field: str, limit: int, where: Sequence = ()) -> list[dict]:
    return [d for _, d in store.query(collection, list(where), order_by=field, descending=True, limit=limit)]


def marks(store: Store) -> dict[str, Decimal]:
    return {doc_id.replace("-", "/"): Decimal(d["price"]) for doc_id, d in store.query("marks") if d.get("price")}


# -- money ---------------------------------------------------------------------------------
def equity(store: Store, limit: int = 1440) -> dict:
    points = _newest(store, "equity", "at", limit)[::-1]
    keys = ("at", "nav", "total_pnl", "hold", "pnl_today")
    return {"points": [{k: p.get(k) for k in keys} for p in points]}


def balances(store: Store, quote: str = "USDT") -> dict:
    prices = nav.asset_prices(marks(store), quote)
    rows, total = [], ZERO
    for _, doc in sorted(store.query("balances"), key=lambda r: (r[1]["venue"], r[1]["asset"])):
        amount = Decimal(doc["total"])
        price = prices.get(doc["asset"])
        usd = amount * price if price is not None else None
        total += usd or ZERO
        rows.append({"venue": doc["venue"], "asset": doc["asset"], "total": dec(amount),
                     "usd": dec(usd) if usd is not None else None})
    return {"balances": rows, "nav": dec(total)}


def trades(store: Store, limit: int = 200, **filters: str | None) -> dict:
    where = [(field, "==", value) for field, value in filters.items() if value]
    return {"trades": _newest(store, "executions", "executed_at", limit, where)}


def opportunities(store: Store, limit: int = 100, reason: str | None = None) -> dict:
    everything = [d for _, d in store.query("near_misses", order_by="at", descending=True)]  # one read
    misses = [d for d in everything if not reason or d.get("reason") == reason][:limit]
    counted = Counter(d.get("reason", "") for d in everything[:BY_REASON_WINDOW])
    return {"executed": _newest(store, "arbitrage", "detected_at", limit), "near_misses": misses,
            "by_reason": dict(sorted(counted.items()))}


# -- risk and settings ---------------------------------------------------------------------
class _Peek:
    """A Store read as the transaction `settings.effective` expects (peek = get)."""

    def __init__(self, store: Store):
        self.store = store

    def peek(self, collection: str, doc_id: str) -> dict | None:
        return self.store.get(collection, doc_id)


def effective_config(store: Store, base: RiskConfig | None) -> RiskConfig | None:
    return settings.effective(_Peek(store), base) if base is not None else None  # type: ignore[arg-type]


def current_settings(store: Store) -> dict:
    return store.get(*settings.CURRENT) or {}


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, ZERO) / len(values) if values else None


def risk(store: Store, base: RiskConfig | None, quote: str = "USDT") -> dict:
    st = RiskState.from_doc(store.get("state", "risk"))
    cfg = effective_config(store, base)
    fig = summary.figures(store, quote)
    today = days.day_pnl(store.get(days.COLLECTION, st.trading_day) if st.trading_day else None, fig)
    start = Decimal(st.start_equity or "0")
    loss_pct = (st.loss_reference - fig.total) / start * 100 if start > 0 else ZERO  # as the brake
    panic = cfg.panic if cfg else None
    results = [Decimal(r) for r in st.recent_results[-panic.win_rate_window:]] if panic else []
    lats = [Decimal(str(x)) for x in st.latencies_ms[-panic.latency_window:]] if panic else []
    wins = sum(1 for r in results if r > 0)
    avg = _mean(lats)
    return {
        "halted": st.halted, "halt_reason": st.halt_reason, "halt_cause": st.halt_cause,
        "halted_by": st.halted_by, "halted_at": st.halted_at, "mode": st.mode,
        "daily_pnl": dec(today), "daily_loss_pct": dec(loss_pct.quantize(PCT_PLACES)),
        "max_daily_loss_pct": panic.max_daily_loss_pct if panic else None,
        "win_rate": round(wins / len(results), 4) if results else None, "win_rate_trades": len(results),
        "min_win_rate": panic.min_win_rate if panic else None,
        "avg_latency_ms": dec(avg.quantize(Decimal("0.1"))) if avg is not None else None,
        "latency_orders": len(lats), "max_avg_latency_ms": panic.max_avg_latency_ms if panic else None,
        "limits": cfg.limits.model_dump(mode="json") if cfg else {},
        "settings_version": int(current_settings(store).get("version", 0)),
    }


def settings_view(store: Store, base: RiskConfig | None) -> dict:
    """The settings in force: the file's risk config with the current version laid over it."""
    doc = current_settings(store)
    cfg = effective_config(store, base)
    risk_now = {s: getattr(cfg, s).model_dump(mode="json") for s in settings.EDITABLE} if cfg else {}
    st = RiskState.from_doc(store.get("state", "risk"))
    return {"version": int(doc.get("version", 0)), "risk": risk_now, "overrides": doc.get("risk", {}),
            "mode": st.mode, "updated_by": doc.get("updated_by", "config"),
            "updated_at": doc.get("updated_at"), "reason": doc.get("reason", "the risk config file")}


def settings_versions(store: Store, limit: int = 100) -> dict:
    keys = ("version", "risk", "updated_by", "updated_at", "reason", "restores")
    docs = _newest(store, settings.VERSIONS, "version", limit)
    return {"versions": [{k: d.get(k) for k in keys} for d in docs]}


# -- operations ------------------------------------------------------------------------------
def percentiles(samples: Sequence[float], places: int = 3) -> dict:
    """p50 and p99 by nearest rank, and n; null percentiles when there is no sample."""
    ordered = sorted(samples)
    n = len(ordered)

    def rank(q: float) -> float | None:
        return round(ordered[max(math.ceil(q * n), 1) - 1], places) if n else None

    return {"p50": rank(0.50), "p99": rank(0.99), "n": n}


def latency(store: Store, hot_path_us: Callable[[], Sequence[float]] | None = None) -> dict:
    docs = _newest(store, "executions", "executed_at", LATENCY_WINDOW)
    order_ms = [float(d["latency_ms"]) for d in docs if d.get("latency_ms")]
    return {"order_ms": percentiles(order_ms), "hot_path_us": percentiles(list(hot_path_us()) if hot_path_us else [])}


def breakers(router: Any, now: datetime) -> dict:
    """Breaker state, reject ratio and shunning per venue of the router (empty without one)."""
    if router is None:
        return {"venues": []}
    guarded = router.guarded
    states = {b["venue"]: b["state"] for b in guarded.breakers.snapshot()}
    rejects = {r["venue"]: r for r in guarded.rejects.snapshot(now)}
    venues = sorted(set(guarded.venues) | set(states) | set(rejects))
    return {"venues": [{
        "venue": v, "state": states.get(v, "closed"),
        "reject_ratio": rejects[v]["reject_ratio"] if v in rejects else 0.0,
        "shunned": bool(v in rejects and rejects[v]["shunned_since"] and not rejects[v]["probing"]),
    } for v in venues]}


def notifications(store: Store, limit: int = 50) -> dict:
    kept = _newest(store, "notifications_recent", "created_at", limit)
    if kept:
        return {"items": [{k: d.get(k, "") for k in ("kind", "severity", "title", "text", "created_at")}
                          | {"channel": d.get("channel")} for d in kept]}
    sent = _newest(store, "notify_dedupe", "sent_at", limit)
    return {"items": [{"kind": d.get("kind", ""), "severity": d.get("severity", ""), "title": d.get("kind", ""),
                       "text": "", "created_at": d.get("sent_at"), "channel": d.get("channel")} for d in sent]}


def optimizer_jobs(store: Store, limit: int = 50) -> dict:
    return {"jobs": _newest(store, "optimizer_jobs", "created_at", limit)}


def audit(store: Store, limit: int = 50) -> dict:
    return {"items": _newest(store, "audit", "at", limit)}


# -- strategies ------------------------------------------------------------------------------
def strategies(store: Store, configured: Sequence[str] = (), standing: gate.StandingConfig | None = None) -> dict:
    """Each voter's state: live, standing_aside or warming_up, why (with its figures), since
    when, its scored paper trades and the params version of that record; a configured strategy
    with no scored paper trade yet is warming up. `trading`: it trades with its ensemble weight
    now (live, or the gate is off); otherwise it votes on paper only."""
    cfg = standing or gate.StandingConfig()
    states = gate.strategy_states(store)
    rows = []
    for name in sorted(set(states) | set(configured)):
        s = states.get(name)
        if s is None:
            v = gate.verdict([], cfg)
            s = {"state": v.state, "why": v.why, "figures": v.figures, "since": None, "paper_trades": 0,
                 "params_version": 0}
        rows.append({"name": name, **s, "trading": s["state"] == gate.LIVE or not cfg.enabled})
    return {"gate_enabled": cfg.enabled, "strategies": rows}
