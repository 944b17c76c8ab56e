"""NAV and PnL: the one computation every report, the panic brake and the API read.

Definitions (DESIGN "Money: one definition"):
- Prices are one consistent set of USD (quote-currency) prices per asset, derived from the
  marks: a direct leg (BTC/USDT) first, else a route through an asset already priced
  (BNB/BTC × BTC/USDT). A cross pair (ETH/BTC) therefore never values an asset that has its
  own USD leg, so a triangle whose three prices disagree cannot create or hide PnL.
- NAV = Σ over every asset of its balance summed over venues, transit and the cold wallet,
  times its price.
- Total PnL = Σ over assets of (balance now − balance at start) × price now. Every cost
  (trading fees in any currency, transfer and withdrawal fees) has moved a balance, so it is
  inside this figure; the start holdings' own market move is the buy-and-hold benchmark,
  not PnL.

Every balance change is recorded as a flow under its source (`arb_cross`, `arb_triangle`,
`strategy:<name>`, `manual`, `rebalance`, `sweep`, `correction`...), with the USD value of the
change at the moment it happened. So, exactly:
    total = Σ_sources Σ_assets flow × price now
and each source's share splits into what it realised when it happened (an arbitrage is
realised when its legs complete: flat in inventory, its value is its profit) and the market
move since of what it left in inventory. Strategies own the moves of their inventory.

The state lives in one document, `ledger/pnl` (see `LedgerPnl`), written by the risk step in
the same transaction as the balances it moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
DOC = ("ledger", "pnl")
STRATEGY_PREFIX = "strategy:"
REALISED_SOURCES = ("arb_cross", "arb_triangle", "rebalance", "sweep")  # valued when they happen


def asset_prices(marks: Mapping[str, Decimal], quote: str = "USDT") -> dict[str, Decimal]:
    """USD price per asset from symbol marks: direct legs first, then routes, deterministic."""
    prices: dict[str, Decimal] = {quote: Decimal(1)}
    pairs = sorted((s.split("/", 1), Decimal(p)) for s, p in marks.items() if "/" in s and p)
    for (base, q), price in pairs:
        if q == quote and base not in prices:
            prices[base] = price
    for (base, q), price in pairs:
        if base == quote and q not in prices:
            prices[q] = Decimal(1) / price
    changed = True
    while changed:  # routes through priced assets (BNB/BTC × BTC/USDT), shortest first
        changed = False
        found: dict[str, Decimal] = {}
        for (base, q), price in pairs:
            if base not in prices and q in prices:
                found.setdefault(base, price * prices[q])
            elif q not in prices and base in prices:
                found.setdefault(q, prices[base] / price)
        if found:
            prices.update(found)
            changed = True
    return prices


@dataclass(frozen=True)
class LedgerPnl:
    """The `ledger/pnl` document: start balances and every flow since, by source."""

    start: dict[str, Decimal] = field(default_factory=dict)          # asset -> Σ balances at start
    start_prices: dict[str, Decimal] = field(default_factory=dict)   # asset -> price when first seen
    flows: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # source -> asset -> Σ delta
    realised: dict[str, Decimal] = field(default_factory=dict)       # source -> Σ value at the time

    @property
    def started(self) -> bool:
        return bool(self.start)

    def holdings(self) -> dict[str, Decimal]:
        """Balance per asset now (all venues, transit and cold), from start + flows."""
        out = dict(self.start)
        for deltas in self.flows.values():
            for asset, delta in deltas.items():
                out[asset] = out.get(asset, ZERO) + delta
        return out

    def net_flows(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for deltas in self.flows.values():
            for asset, delta in deltas.items():
                out[asset] = out.get(asset, ZERO) + delta
        return out

    def with_flow(self, source: str, deltas: Mapping[str, Decimal], value: Decimal | None) -> LedgerPnl:
        flows = {s: dict(d) for s, d in self.flows.items()}
        mine = flows.setdefault(source, {})
        for asset, delta in deltas.items():
            if delta:
                mine[asset] = mine.get(asset, ZERO) + delta
        realised = dict(self.realised)
        if value is not None:
            realised[source] = realised.get(source, ZERO) + value
        return LedgerPnl(self.start, self.start_prices, flows, realised)

    def with_prices_seen(self, prices: Mapping[str, Decimal]) -> LedgerPnl:
        """Fix the start price of an asset the first time it has one (never moved after)."""
        missing = {a: prices[a] for a in self.start if a not in self.start_prices and a in prices}
        if not missing:
            return self
        return LedgerPnl(self.start, {**self.start_prices, **missing}, self.flows, self.realised)

    def to_doc(self) -> dict:
        return {
            "start": {a: str(v) for a, v in sorted(self.start.items())},
            "start_prices": {a: str(v) for a, v in sorted(self.start_prices.items())},
            "flows": {s: {a: str(v) for a, v in sorted(d.items())} for s, d in sorted(self.flows.items())},
            "realised": {s: str(v) for s, v in sorted(self.realised.items())},
        }

    @classmethod
    def from_doc(cls, doc: Mapping | None) -> LedgerPnl:
        if not doc:
            return cls()
        return cls(_dec(doc.get("start")), _dec(doc.get("start_prices")),
                   {s: _dec(d) for s, d in (doc.get("flows") or {}).items()}, _dec(doc.get("realised")))


def _dec(m: Mapping | None) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in (m or {}).items()}


@dataclass(frozen=True)
class Figures:
    """What every report shows, computed once from `LedgerPnl` and the prices now."""

    start_capital: Decimal            # Σ start balances × their start prices
    nav: Decimal                      # Σ balances now × prices now
    hold: Decimal                     # buy and hold: Σ start balances × prices now
    total: Decimal                    # nav − hold = Σ flows × prices now
    by_source: dict[str, Decimal]     # each source's flows × prices now (sums to total)
    realised: dict[str, Decimal]      # each source's flows valued when they happened
    unpriced: tuple[str, ...] = ()    # held assets with no price (left out of NAV: say so)

    @property
    def return_pct(self) -> Decimal:
        return self.total / self.start_capital * 100 if self.start_capital else ZERO

    @property
    def hold_return_pct(self) -> Decimal:
        return (self.hold - self.start_capital) / self.start_capital * 100 if self.start_capital else ZERO

    def attribution(self) -> dict[str, Decimal]:
        """Sums to `total` exactly: arbitrage and costs as realised, each strategy with its
        inventory, and the market move of every other source's inventory in one line."""
        out: dict[str, Decimal] = {}
        inventory = ZERO
        for source, value in sorted(self.by_source.items()):
            if source.startswith(STRATEGY_PREFIX) or source not in self.realised:
                out[source] = value
            else:
                out[source] = self.realised[source]
                inventory += value - self.realised[source]
        out["inventory_moves"] = inventory
        return out


def value(deltas: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> Decimal:
    return sum((d * prices[a] for a, d in deltas.items() if a in prices), ZERO)


def compute(ledger: LedgerPnl, prices: Mapping[str, Decimal]) -> Figures:
    holdings = ledger.holdings()
    unpriced = tuple(sorted(a for a, b in holdings.items() if b and a not in prices))
    by_source = {s: value(d, prices) for s, d in ledger.flows.items()}
    start_px = {**prices, **ledger.start_prices}
    return Figures(
        start_capital=value(ledger.start, start_px), nav=value(holdings, prices),
        hold=value(ledger.start, prices), total=sum(by_source.values(), ZERO),
        by_source=by_source, realised=dict(ledger.realised), unpriced=unpriced)


def source_of(source: str, strategy: str) -> str:
    """The attribution source of an execution (its OrderSource value and strategy name)."""
    if source in ("arbitrage", "hedge"):
        return "arb_triangle" if "triangle" in strategy else "arb_cross"
    if source == "signal":
        return f"{STRATEGY_PREFIX}{strategy or 'ensemble'}"
    return source or "unattributed"


def start_from(balances: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Σ per asset of (asset, amount) balances (every venue, transit, cold)."""
    out: dict[str, Decimal] = {}
    for asset, amount in balances:
        out[asset] = out.get(asset, ZERO) + amount
    return out
