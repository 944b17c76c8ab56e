"""Fixtures for the risk, ledger, panic, rebalance and sweep unit tests: the real risk
handler over SqliteStore(':memory:') and a SimulatedClock, with a small config whose
numbers are easy to compute by hand.

Default book: venues alpha and beta, symbol BTC/USDT, each venue seeded with 10,000 USDT and
0.1 BTC; with BTC marked at 50,000 the NAV is 2 x (10,000 + 5,000) = 30,000 USDT.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import (
    Command,
    Control,
    Execution,
    ExecutionStatus,
    Side,
    Signal,
    wrap,
)
from shared.handlers import risk
from shared.risk import state as risk_state
from shared.risk.config import RiskConfig

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
D = Decimal


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


BASE = {
    "limits": {"max_order_usd": "1000", "max_position_usd": "2000", "max_gross_exposure_usd": "3000",
               "max_venue_exposure_usd": "2500", "max_open_orders": 3, "min_confidence": 0.6,
               "trading_window": {"start": "00:00", "end": "23:59"}, "max_daily_loss_pct": 3.0},
    "sizing": {"base_order_usd": "1000", "kelly_fraction": 0.5, "kelly_min_trades": 5, "kelly_cap": 1.0,
               "high_drawdown_pct": 2.0, "high_drawdown_clip": 0.25},
    "panic": {"max_daily_loss_pct": 3.0, "max_avg_latency_ms": 500, "latency_window": 4,
              "latency_min_samples": 4, "min_win_rate": 0.4, "win_rate_window": 5, "win_rate_min_trades": 5},
    "portfolio": {"quote": "USDT", "start_balances": {"USDT": "10000", "BTC": "0.1"}},
    "optimizer_triggers": {"max_drawdown_pct": 1.0, "consecutive_losers": 3, "sharpe_floor": 0.0,
                           "sharpe_window": 10, "sharpe_min_trades": 10, "cooldown_minutes": 60,
                           "window_days": 7},
    "rebalance": {"threshold_pct": 30, "assets": {
        "BTC": {"withdrawal_fee": "0.0002", "transfer_minutes": 30, "min_amount": "0.005", "step": "0.00001"}}},
    "sweep": {"profit_gbp": "5000", "nav_pct": 30, "gbp_usdt_rate": "1.27", "asset": "USDT",
              "cold_wallet": {"address": "0xCOLD", "network": "ERC20"}, "allow_list": ["0xCOLD"]},
}


def risk_config(**overrides) -> RiskConfig:
    return RiskConfig.model_validate(_merge(BASE, overrides))


class Harness:
    """Drives `shared.handlers.risk.handle` one message at a time, each in its own transaction."""

    def __init__(self, config: RiskConfig | None = None, venues=("alpha", "beta"), symbols=("BTC/USDT",),
                 store=None, clock=None, withdrawers=None):
        self.store = store or SqliteStore(":memory:")
        self.claims = SqliteStore(":memory:")  # outside the step's transaction, as Firestore is
        self.clock = clock or SimulatedClock(T0)
        self.config = config or risk_config()
        self.deps = risk.RiskDeps(self.config, self.clock, tuple(venues), tuple(symbols), withdrawers or {},
                                  claims=self.claims)
        self._ids = itertools.count(1)

    # -- inputs ----------------------------------------------------------------------------
    def mark(self, symbol: str, price) -> None:
        self.store.put("marks", symbol.replace("/", "-"), {"price": str(price), "at": self.clock.now().isoformat()})

    def send(self, body) -> list:
        env = wrap(body, ts=self.clock.now())
        with self.store.transaction() as tx:
            return risk.handle(body, env, tx, self.deps)

    def signal(self, side=Side.BUY, confidence=0.8, venue="alpha", symbol="BTC/USDT", price="50000",
               strategy="ensemble") -> list:
        return self.send(Signal(strategy=strategy, venue=venue, symbol=symbol, side=side, confidence=confidence,
                                price=D(price), bar_time=self.clock.now()))

    def execution(self, side=Side.BUY, qty="0.01", price="50000", fee="0", venue="alpha", symbol="BTC/USDT",
                  latency=50.0, strategy="ensemble", status=ExecutionStatus.FILLED, execution_id=None) -> Execution:
        n = next(self._ids)
        filled = D(qty) if status in (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED) else D(0)
        return Execution(
            execution_id=execution_id or f"ex-{n}", client_order_id=f"tw-order-{n:04d}", venue=venue,
            symbol=symbol, side=side, status=status, requested_quantity=D(qty), filled_quantity=filled,
            price=D(price) if filled else D(0), expected_price=D(price), fee=D(fee), fee_currency="USDT",
            latency_ms=latency, strategy=strategy, executed_at=self.clock.now())

    def fill(self, *args, **kw) -> list:
        return self.send(self.execution(*args, **kw))

    def control(self, command: Command, **kw) -> list:
        return self.send(Control(command=command, issued_at=self.clock.now(), **kw))

    # -- reads -----------------------------------------------------------------------------
    @property
    def state(self) -> risk_state.RiskState:
        return risk_state.RiskState.from_doc(self.store.get("state", "risk"))

    def balance(self, venue: str, asset: str) -> Decimal:
        doc = self.store.get("balances", f"{venue}:{asset}")
        return D(doc["total"]) if doc else D(0)

    def equity(self) -> Decimal:
        from shared.ledger import book

        with self.store.transaction() as tx:
            marks = book.marks(tx, self.deps.symbols)
            return book.equity_usd(tx, marks, "USDT")

    def audit(self, kind: str) -> list[dict]:
        return [d for _, d in self.store.query("audit", [("kind", "==", kind)])]

    def snapshot(self) -> dict:
        return {c: self.store.query(c) for c in self.store.collections()}
