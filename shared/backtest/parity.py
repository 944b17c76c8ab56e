"""Replay = backtest: align the event-driven replay's trades with the vectorised backtest's
on the same bars, and give every difference a cause.

What "agree" means. Both paths act on the same decision rule (shared/backtest/engine.py
mirrors the signal step): one strategy alone, the ensemble's gate off, so its vote IS the
ensemble's decision (score = confidence x weight / weight); a Signal when the acted side
changes; long-only spot (BUY opens when flat, SELL closes). The decision at bar t's close
is filled at t + 1's open in the backtest and, in the replay, at once on the book standing
at that same instant (the close of t is the open of t + 1). A leg is keyed by what decided
it: (venue, symbol, the signal bar's open time, side). Replay and backtest AGREE when they
emit the same signals and fill the same legs, bar for bar; a round trip is matched when its
entry and its exit both are. Inside a matched leg the amounts are compared:

- fee: the fee rate paid (bps of the notional) must equal the backtest's, which is the
  venue's taker fee: a different rate is a difference with no excuse (`explained=False`);
- fill price: the replay walks the venue's L2 book (VWAP, IOC limit), the backtest prices the
  next open plus its slippage model; a gap up to `Rules.fill_bps` is what two fill models
  differ by (shown per matched leg, `Match.price_bps`), a larger one is a `fill_price`
  difference and not explained;
- size: the replay's risk step sizes on the whole portfolio (NAV, portfolio-wide Kelly on the
  recent closed trades, day-peak drawdown, a cross pair's quote at its USD mark of the moment,
  quantity rounded to 0.00001), the backtest on this series alone; a notional gap above
  `Rules.size_pct` is cause `sizing` (explained).

A leg present on one side only is explained by: `risk_denial` (the replay's risk step denied
the signal: the audit's reasons; a SELL after a denied BUY is denied `nothing_to_sell`);
`fill` (the venue filled nothing: rejected, cancelled, failed; a partial fill is a `sizing`
gap that names it); `sizing` (the backtest sized a BUY at 0: its own Kelly, or no cash);
the entry's cause, for the exit of a position the other side never opened; `end_of_data`
(a signal on the last bar: the backtest has no next open, the replay fills it at once).
A replay BUY while the replay is still long (an exit it did not fill; the risk step does not
refuse a BUY when long) is a `position` difference with the missed exit's cause.
A signal on one side only is explained by `ensemble_gate` (a confidence within `Rules.tie`
of the threshold: float rounding of the consensus), `params` (the replay's parameters
changed version mid-run: the optimizer with auto_apply) or `window` (the signal step keeps
its last 240 bars; a recursive indicator then reads differently); anything else is `signal`
and not explained. Pure: records in, a `Comparison` out (parity_run.py builds the records
from a replay and a backtest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

Key = tuple[str, str, datetime, str]  # venue, symbol, signal bar open time, "buy" | "sell"
SeriesKey = tuple[str, str]  # venue, symbol


@dataclass(frozen=True)
class Decision:
    """An emitted signal (the acted side changed at this bar's close)."""

    venue: str
    symbol: str
    bar_time: datetime
    side: str
    confidence: float = 1.0

    @property
    def key(self) -> Key:
        return self.venue, self.symbol, self.bar_time, self.side


@dataclass(frozen=True)
class Leg:
    """A filled order, keyed by the signal that decided it. Money in the pair's quote."""

    venue: str
    symbol: str
    bar_time: datetime
    side: str
    quantity: float
    price: float
    fee: float
    status: str = "filled"  # replay: filled | partially_filled

    @property
    def key(self) -> Key:
        return self.venue, self.symbol, self.bar_time, self.side

    @property
    def notional(self) -> float:
        return self.quantity * self.price

    @property
    def fee_bps(self) -> float:
        return self.fee / self.notional * 10_000 if self.notional > 0 else 0.0


@dataclass(frozen=True)
class Refusal:
    """A replay signal that filled nothing: denied by risk, or not filled by the venue."""

    venue: str
    symbol: str
    bar_time: datetime
    side: str
    cause: str  # "risk_denial" | "fill"
    reasons: tuple[str, ...]

    @property
    def key(self) -> Key:
        return self.venue, self.symbol, self.bar_time, self.side


@dataclass(frozen=True)
class Account:
    """One path's account of the run: its signals, filled legs and (replay) refusals."""

    decisions: tuple[Decision, ...]
    legs: tuple[Leg, ...]
    refusals: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class Rules:
    fee_bps: Mapping[str, float]  # venue -> taker fee both paths should pay
    threshold: float = 0.60
    tie: float = 1e-8  # a confidence this close to the threshold (which needs + 1e-9): a rounding tie
    # fill price gaps up to this are the two fill models' difference: the touch at that instant
    # vs the bar's open + half the spread (venue dislocations reach ~15 bps on the ETH/BTC cross)
    fill_bps: float = 30.0
    size_pct: float = 1.0  # notional gaps above this are listed (cause sizing)
    fee_tol_bps: float = 0.01
    last_bar: Mapping[SeriesKey, datetime] = field(default_factory=dict)
    window_diffs: frozenset[Key] = frozenset()  # signal-step votes differing on its 240-bar window
    params_changed: datetime | None = None  # first bar the replay read other parameters than YAML's


@dataclass(frozen=True)
class Difference:
    venue: str
    symbol: str
    bar_time: datetime
    side: str
    what: str  # signal | leg | position | fee | fill_price | size
    only_in: str  # "replay" | "backtest" | "" (both: amounts differ)
    cause: str
    detail: str
    explained: bool


@dataclass(frozen=True)
class Match:
    replay: Leg
    backtest: Leg

    @property
    def price_bps(self) -> float:
        return (self.replay.price / self.backtest.price - 1.0) * 10_000

    @property
    def size_pct(self) -> float:
        return (self.replay.notional / self.backtest.notional - 1.0) * 100 if self.backtest.notional else 0.0


@dataclass(frozen=True)
class Comparison:
    matched: tuple[Match, ...]
    differences: tuple[Difference, ...]
    trades_replay: int
    trades_backtest: int
    trades_matched: int
    signals_replay: int
    signals_backtest: int

    @property
    def unexplained(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if not d.explained)

    @property
    def agree(self) -> bool:
        return not self.unexplained


def round_trips(legs: Iterable[Leg]) -> list[tuple[Key, Key | None]]:
    """(entry key, exit key or None while open) per series: a BUY opens, the next SELL closes."""
    out: list[tuple[Key, Key | None]] = []
    open_: dict[SeriesKey, Key] = {}
    for leg in sorted(legs, key=lambda x: (x.venue, x.symbol, x.bar_time)):
        series = (leg.venue, leg.symbol)
        if leg.side == "buy" and series not in open_:
            open_[series] = leg.key
        elif leg.side == "sell" and series in open_:
            out.append((open_.pop(series), leg.key))
    out += [(entry, None) for entry in open_.values()]
    return sorted(out, key=lambda t: (t[0][0], t[0][1], t[0][2]))


def compare(replay: Account, backtest: Account, rules: Rules) -> Comparison:
    diffs: list[Difference] = []
    signal_cause = _signal_differences(replay, backtest, rules, diffs)
    r_legs = {leg.key: leg for leg in replay.legs}
    b_legs = {leg.key: leg for leg in backtest.legs}
    refused = {r.key: r for r in replay.refusals}
    matched = [Match(r_legs[k], b_legs[k]) for k in sorted(r_legs.keys() & b_legs.keys())]
    for m in matched:
        diffs += _amounts(m, rules)
    entry_cause: dict[SeriesKey, tuple[str, bool]] = {}  # the last unmatched entry's cause, per series
    for key in sorted(r_legs.keys() ^ b_legs.keys(), key=lambda k: (k[0], k[1], k[2])):
        only = "replay" if key in r_legs else "backtest"
        cause, detail, ok = _leg_cause(key, only, refused, signal_cause, entry_cause, rules)
        if key[3] == "buy":
            entry_cause[(key[0], key[1])] = (cause, ok)
        diffs.append(Difference(*key, what="leg", only_in=only, cause=cause, detail=detail, explained=ok))
    diffs += _added_to_open(replay.legs, [d for d in diffs if d.what == "leg"])
    r_trips, b_trips = round_trips(replay.legs), round_trips(backtest.legs)
    trades_matched = len(set(r_trips) & set(b_trips))  # entry and exit (or still open) alike
    diffs.sort(key=lambda d: (d.venue, d.symbol, d.bar_time, d.what))
    return Comparison(tuple(matched), tuple(diffs), len(r_trips), len(b_trips), trades_matched,
                      len(replay.decisions), len(backtest.decisions))


def _signal_differences(replay: Account, backtest: Account, rules: Rules,
                        diffs: list[Difference]) -> dict[Key, tuple[str, bool]]:
    """Signals emitted on one side only, with their cause; returns key -> (cause, explained)."""
    r = {d.key: d for d in replay.decisions}
    b = {d.key: d for d in backtest.decisions}
    out: dict[Key, tuple[str, bool]] = {}
    for key in sorted(r.keys() ^ b.keys(), key=lambda k: (k[0], k[1], k[2])):
        only = "replay" if key in r else "backtest"
        conf = (r.get(key) or b[key]).confidence
        since = rules.params_changed
        if abs(conf - rules.threshold) <= rules.tie:
            cause, ok, detail = "ensemble_gate", True, f"confidence {conf:.9f} ties the threshold {rules.threshold}"
        elif since is not None and key[2] >= since:
            cause, ok, detail = "params", True, f"the replay's parameters changed from {since:%H:%M}"
        elif key in rules.window_diffs:
            cause, ok, detail = "window", True, "the signal step's 240-bar window votes otherwise"
        else:
            cause, ok, detail = "signal", False, f"vote {key[3]} (confidence {conf:.3f}) only in the {only}"
        out[key] = (cause, ok)
        diffs.append(Difference(*key, what="signal", only_in=only, cause=cause, detail=detail, explained=ok))
    return out


def _leg_cause(key: Key, only: str, refused: Mapping[Key, Refusal], signal_cause: Mapping[Key, tuple[str, bool]],
               entry_cause: Mapping[SeriesKey, tuple[str, bool]], rules: Rules) -> tuple[str, str, bool]:
    if key in signal_cause:
        cause, ok = signal_cause[key]
        return cause, f"the signal itself differs ({cause})", ok
    if only == "backtest" and key in refused:
        ref = refused[key]
        return ref.cause, "; ".join(ref.reasons), True
    last = rules.last_bar.get((key[0], key[1]))
    if only == "replay" and last is not None and key[2] >= last:
        return "end_of_data", "signal on the last bar: no next open to fill the backtest", True
    if key[3] == "sell" and (key[0], key[1]) in entry_cause:
        cause, ok = entry_cause[(key[0], key[1])]
        return cause, f"closes a position opened on one side only ({cause})", ok
    if only == "replay" and key[3] == "buy":
        return "sizing", "the backtest sized this entry at 0 (its own Kelly on this series, or no cash)", True
    return "unexplained", f"filled only in the {only}", False


def _added_to_open(legs: Iterable[Leg], leg_diffs: list[Difference]) -> list[Difference]:
    """A replay BUY while the replay is still long (an exit it did not fill left the position
    open; the risk step does not refuse a BUY when long): the position differs from there on.
    The cause is that of the exit it missed."""
    missed: dict[SeriesKey, list[Difference]] = {}
    for d in leg_diffs:
        if d.side == "sell" and d.only_in == "backtest":
            missed.setdefault((d.venue, d.symbol), []).append(d)
    out, long = [], set()
    for leg in sorted(legs, key=lambda x: (x.venue, x.symbol, x.bar_time)):
        series = (leg.venue, leg.symbol)
        if leg.side == "sell":
            long.discard(series)
        elif series in long:
            before = [d for d in missed.get(series, []) if d.bar_time < leg.bar_time]
            cause, ok = (before[-1].cause, before[-1].explained) if before else ("unexplained", False)
            out.append(Difference(*leg.key, what="position", only_in="replay", cause=cause, explained=ok,
                                  detail="the replay adds to a position still open" + (
                                      f" (its exit of {before[-1].bar_time:%H:%M} was not filled: {cause})"
                                      if before else "")))
        else:
            long.add(series)
    return out


def _amounts(m: Match, rules: Rules) -> list[Difference]:
    key, out = m.replay.key, []
    fee = rules.fee_bps.get(key[0])
    for path, leg in (("replay", m.replay), ("backtest", m.backtest)):
        if fee is not None and abs(leg.fee_bps - fee) > rules.fee_tol_bps:
            out.append(Difference(*key, what="fee", only_in="", cause="fee", explained=False,
                                  detail=f"{path} paid {leg.fee_bps:.3f} bps, the venue's taker fee is {fee} bps"))
    if abs(m.price_bps) > rules.fill_bps:
        out.append(Difference(*key, what="fill_price", only_in="", cause="fill_price", explained=False,
                              detail=f"{m.price_bps:+.1f} bps: more than the {rules.fill_bps} bps the fill "
                                     "models may differ by"))
    if abs(m.size_pct) > rules.size_pct:
        why = (f"partial fill ({m.replay.status})" if m.replay.status != "filled"
               else "the risk step sizes on the portfolio (NAV, Kelly, drawdown, USD marks now)")
        out.append(Difference(*key, what="size", only_in="", cause="sizing", explained=True,
                              detail=f"notional {m.replay.notional:.6g} vs {m.backtest.notional:.6g} "
                                     f"({m.size_pct:+.2f} %): {why}"))
    return out
