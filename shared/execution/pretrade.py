"""Pre-trade checks in process, against a cached view of the risk state.

The hot path calls `check()` (strategy and manual orders: the halt flag and the strategies'
order limit) or `check_arbitrage()` (the halt flag and the arbitrage's own notional cap),
which read only memory. The cache is refreshed from the store (`state/risk`) by `refresh()`
— called off the hot path by the service's background loop or by the replay each step —
and at once by `control` messages (halt/resume). Order latency is measured here too (rolling average for the panic
brake, which the risk step evaluates from `latency_ms` on each Execution).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shared.contracts import Command, Control
from shared.execution.config import PretradeConfig
from shared.ports import Clock, Store
from shared.risk.config import Limits


def usd_per_unit(asset: str, price_of: Callable[[str], Decimal | None], usd: str = "USDT") -> Decimal | None:
    """How many `usd` one unit of `asset` is worth (1 for `usd` itself), from the price of
    `asset/usd` or of `usd/asset` (e.g. BTC for an ETH/BTC order: the BTC/USDT price);
    None when neither is known. The size checks and algo choices are in USD."""
    if asset == usd:
        return Decimal(1)
    direct = price_of(f"{asset}/{usd}")
    if direct:
        return direct
    inverse = price_of(f"{usd}/{asset}")
    return Decimal(1) / inverse if inverse else None


@dataclass(frozen=True)
class RiskView:
    halted: bool = False
    reason: str = ""
    actor: str = ""
    refreshed_at: datetime | None = None


class PreTradeGate:
    def __init__(self, clock: Clock, cfg: PretradeConfig | None = None, limits: Limits | None = None):
        cfg = cfg or PretradeConfig()
        self.clock, self.cfg, self.limits = clock, cfg, limits
        self._file_limits, self._settings_version = limits, None  # the operator's settings lay over these
        self.view = RiskView()
        self._latencies: deque[float] = deque(maxlen=cfg.latency_window)
        self._lock = threading.Lock()

    # -- cache maintenance (off the hot path) ---------------------------------------------
    def refresh(self, store: Store, force: bool = False) -> RiskView:
        now = self.clock.now()
        last = self.view.refreshed_at
        if not force and last is not None and now - last < timedelta(seconds=self.cfg.refresh_seconds):
            return self.view
        doc = store.get("state", "risk") or {}
        self.view = RiskView(bool(doc.get("halted")), doc.get("halt_reason", ""),
                             doc.get("halted_by", ""), now)
        self._apply_settings(store.get("settings", "current"))
        return self.view

    def _apply_settings(self, doc: dict | None) -> None:
        """The operator's current limits (`settings/current`, shared.risk.settings) over the
        file's, as the risk step applies them; a version that does not validate keeps the file's."""
        if self._file_limits is None:
            return
        overlay = ((doc or {}).get("risk") or {}).get("limits") or {}
        version = (doc or {}).get("version")
        if version == self._settings_version:
            return
        try:
            merged = {**self._file_limits.model_dump(mode="json"), **overlay}
            self.limits = type(self._file_limits).model_validate(merged)
        except ValueError:
            self.limits = self._file_limits
        self._settings_version = version

    def on_control(self, ctl: Control) -> None:
        if ctl.command is Command.HALT:
            self.view = RiskView(True, ctl.reason, ctl.actor, self.clock.now())
        elif ctl.command is Command.RESUME:
            self.view = RiskView(False, "", ctl.actor, self.clock.now())

    @property
    def halted(self) -> bool:
        return self.view.halted

    # -- the check (hot path: memory only) ------------------------------------------------
    def check(self, notional_usd: Decimal, reduces: bool = False) -> list[str]:
        """A strategy or manual order: the halt flag and the strategies' order limit
        (`limits.max_order_usd`)."""
        reasons = []
        if self.view.halted and not reduces:
            reasons.append(f"halted: {self.view.reason or 'trading is halted'}")
        if self.limits is not None and not reduces and notional_usd > self.limits.max_order_usd:
            reasons.append(f"max_order_usd: {notional_usd:.2f} > {self.limits.max_order_usd}")
        return reasons

    def check_arbitrage(self, notional_usd: Decimal, max_notional_usd: Decimal) -> list[str]:
        """An arbitrage opportunity: the halt flag and the arbitrage's own notional cap
        (config/executor.yaml `arbitrage.max_notional_usd`). The strategies' order limit is
        not applied: an arbitrage is flat in inventory across its legs, sized by depth and
        inventory under its own cap."""
        reasons = []
        if self.view.halted:
            reasons.append(f"halted: {self.view.reason or 'trading is halted'}")
        if notional_usd > max_notional_usd:
            reasons.append(f"max_notional_usd: {notional_usd:.2f} > {max_notional_usd}")
        return reasons

    # -- latency ------------------------------------------------------------------------
    def record_latency(self, ms: float) -> None:
        with self._lock:
            self._latencies.append(float(ms))

    @property
    def avg_latency_ms(self) -> float:
        with self._lock:
            return sum(self._latencies) / len(self._latencies) if self._latencies else 0.0
