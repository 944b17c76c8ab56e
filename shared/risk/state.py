"""The risk state document (`state/risk`): halt flag, trading day, daily counters, windows.

The halt lives here, in the store, so it survives restarts; only `resume()` (called by an
authenticated command: Telegram or the API) lifts it. A resume also asks the next risk step
to re-base the brake's daily-loss reference on the total PnL at that moment (`rebase_pending`):
the operator has seen the loss so far, and the brake must not trip again at once on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from shared.ports import Transaction

COLLECTION, DOC_ID = "state", "risk"


@dataclass(frozen=True)
class RiskState:
    halted: bool = False
    halt_reason: str = ""
    halt_cause: str = ""
    halt_figures: dict = field(default_factory=dict)
    halted_at: str | None = None
    halted_by: str = ""
    resumed_at: str | None = None
    resumed_by: str = ""
    resume_reason: str = ""
    mode: str = "paper"
    trading_day: str = ""
    start_equity: str = "0"     # NAV when the day opened (the daily-loss % is of this)
    day_open_pnl: str = "0"     # total PnL (shared.ledger.nav) when the day opened
    realised_today: str = "0"
    fees_today: str = "0"
    peak_equity: str = "0"
    brake_pnl: str = ""         # the daily-loss reference (total PnL) after a resume ("" = day_open_pnl)
    rebase_pending: bool = False
    trades_today: int = 0
    recent_results: tuple[str, ...] = ()  # net PnL of the latest closed trades, newest last
    latencies_ms: tuple[float, ...] = ()
    consecutive_losses: int = 0

    @property
    def day(self) -> date | None:
        return date.fromisoformat(self.trading_day) if self.trading_day else None

    def halt(self, *, cause: str, reason: str, figures: dict, actor: str, at: datetime) -> RiskState:
        return replace(self, halted=True, halt_cause=cause, halt_reason=reason,
                       halt_figures=figures, halted_at=at.isoformat(), halted_by=actor)

    def resume(self, *, actor: str, reason: str, at: datetime) -> RiskState:
        return replace(self, halted=False, resumed_at=at.isoformat(), resumed_by=actor,
                       resume_reason=reason, halt_cause="", halt_reason="", halt_figures={},
                       recent_results=(), latencies_ms=(), consecutive_losses=0,
                       rebase_pending=True)

    @property
    def loss_reference(self) -> Decimal:
        """The total PnL the panic brake measures today's loss from."""
        return Decimal(self.brake_pnl or self.day_open_pnl or "0")

    def daily_pnl(self, total_pnl: Decimal) -> Decimal:
        """Today's PnL: the total PnL now less the total when the day opened."""
        return total_pnl - Decimal(self.day_open_pnl or "0")

    def record_trade(self, net_pnl: Decimal, window: int) -> RiskState:
        results = (self.recent_results + (str(net_pnl),))[-window:]
        losses = self.consecutive_losses + 1 if net_pnl < 0 else 0
        return replace(self, recent_results=results, consecutive_losses=losses)

    def record_latency(self, latency_ms: float, window: int) -> RiskState:
        return replace(self, latencies_ms=(self.latencies_ms + (float(latency_ms),))[-window:])

    def to_doc(self) -> dict:
        doc = asdict(self)
        doc["recent_results"] = list(self.recent_results)
        doc["latencies_ms"] = list(self.latencies_ms)
        return doc

    @classmethod
    def from_doc(cls, doc: dict | None) -> RiskState:
        if not doc:
            return cls()
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        known["recent_results"] = tuple(known.get("recent_results", ()))
        known["latencies_ms"] = tuple(known.get("latencies_ms", ()))
        return cls(**known)


def load(tx: Transaction) -> RiskState:
    return RiskState.from_doc(tx.get(COLLECTION, DOC_ID))


def save(tx: Transaction, state: RiskState) -> None:
    tx.put(COLLECTION, DOC_ID, state.to_doc())
