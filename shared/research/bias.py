"""Bias checks of a strategy plugin, like FreqTrade's `lookahead-analysis` and
`recursive-analysis`, on votes and (when the plugin has the hook) indicators.

Both compare the series a plugin computes, its votes (side, confidence) and the named
arrays of its optional `indicators(bars, params)` hook (see `strategies.base.indicators_of`),
on two versions of the same bars, bar by bar:

- `lookahead`: the data cut right after a signal (a bar where the vote changes) against the
  full data. A causal plugin computes bar t from bars[: t + 1] only, so every bar of the cut
  run equals the full run's (to 1e-9); a difference means bar t read a later bar.
- `recursive`: the last `compare` bars computed after several warm-ups (the bars before the
  first compared bar) against the full history. A recursive filter seeded at the first bar
  (an EMA, Wilder's RSI) differs by its forgotten seed; the check fails when the live window
  (`registry.history_bars`) is not enough to bring that under `tol` (sides must be equal,
  confidence within `tol`, indicators within `tol` relative), and names the minimum warm-up
  from which every warm-up it tried is stable (a seed's error shrinks with the warm-up but
  not monotonically: it depends on the bar the window starts at).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shared.strategies.base import BarArrays, Strategy, indicators_of
from shared.strategies.registry import history_bars

SIDE, CONFIDENCE = "side", "confidence"
EXACT = 1e-9  # look-ahead: a causal plugin's cut run matches to rounding (indicators.py)
TOLERANCE = 1e-4  # recursive: relative for indicators, absolute for confidence
SCAN = 512  # most warm-ups tried one by one to find the minimum stable one
_TINY = 1e-12


class LookAheadError(Exception):
    """A strategy's vote at bar t depends on bars after t."""


@dataclass(frozen=True)
class Difference:
    """One bar where two runs disagree: `what` (side, confidence or an indicator name) reads
    `full` on the full data and `cut` on the shorter one. `window`: for a look-ahead cut, the
    bars the cut run saw (bars[:window]); for a warm-up, the bars before the compared ones."""

    bar: int
    what: str
    full: float
    cut: float
    deviation: float  # |cut - full|, relative for an indicator; inf for a side flip or NaN
    window: int
    bars: int = 1  # bars of the comparison where anything differs

    def as_cut(self) -> str:
        return (f"bar {self.bar} {self.what} {self.full:.6g} on the full data vs {self.cut:.6g} with the "
                f"data cut after bar {self.window - 1} ({self.bars} bar(s) differ)")

    def as_warmup(self) -> str:
        return (f"bar {self.bar} {self.what} {self.full:.6g} with the full history vs {self.cut:.6g} "
                f"after {self.window} warm-up bars")


@dataclass(frozen=True)
class LookaheadReport:
    strategy: str
    bars: int
    signals: int  # bars where the full run's vote changes
    cuts: tuple[int, ...]  # lengths c of the cut runs bars[:c]
    differences: tuple[Difference, ...]  # the first difference of each failing cut

    @property
    def ok(self) -> bool:
        return not self.differences

    def note(self) -> str:
        if self.ok:
            return (f"look-ahead check passed: {self.strategy} computes the same on the data cut at "
                    f"{len(self.cuts)} bar(s) ({self.signals} signals) as on the full {self.bars} bars")
        return (f"look-ahead check failed: {self.strategy} computes differently on bars[:c] than on the full "
                f"data at {len(self.differences)} of {len(self.cuts)} cut(s), so bar t uses later bars; "
                f"first: {self.differences[0].as_cut()}")


@dataclass(frozen=True)
class WarmupRow:
    warmup: int
    side_flips: int  # compared bars whose side differs from the full history's
    confidence: float  # largest |difference| of the confidence
    indicators: dict[str, float]  # largest relative |difference| per indicator
    worst: Difference | None  # the largest difference beyond the tolerance
    stable: bool


@dataclass(frozen=True)
class RecursiveReport:
    strategy: str
    bars: int
    compared: int  # the last bars compared
    votes: int  # of which the full run votes (not flat) on
    tolerance: float
    required: int  # warm-up bars of the live window: history_bars - 1
    rows: tuple[WarmupRow, ...]  # by warm-up, ascending
    stable_from: int | None  # the minimum stable warm-up; None: not within these bars

    @property
    def checked(self) -> bool:
        return any(r.warmup >= self.required for r in self.rows)

    @property
    def failing(self) -> list[WarmupRow]:
        return [r for r in self.rows if r.warmup >= self.required and not r.stable]

    @property
    def ok(self) -> bool:
        return not self.failing

    def note(self) -> str:
        head = (f"recursive check of {self.strategy} (last {self.compared} of {self.bars} bars, {self.votes} "
                f"voting, tolerance {self.tolerance:g})")
        stable = ("stable from no warm-up within these bars" if self.stable_from is None
                  else f"stable from a warm-up of {self.stable_from} bars")
        if not self.checked:
            return (f"{head} not checked: the live window's {self.required} warm-up bars need at least "
                    f"{self.required + self.compared + 1} bars")
        if self.ok:
            return f"{head} passed: {stable}, the live window has {self.required}"
        worst = self.failing[0].worst
        return (f"{head} failed: warm-up sensitive, the live window's {self.required} warm-up bars are not "
                f"enough ({stable}); {worst.as_warmup() if worst else ''}")


def series(plugin: Strategy, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    """What the checks compare: side and confidence of the votes, then the indicators."""
    votes = plugin.votes(bars, params)
    out = {SIDE: votes.side.astype(np.float64), CONFIDENCE: votes.confidence}
    for name, values in indicators_of(plugin, bars, params).items():
        if name in out:
            raise ValueError(f"indicator name {name!r} is reserved for the votes")
        out[name] = values
    return out


def deviation(what: str, full: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Per bar: inf for a side flip or a NaN on one side only, else |cut - full| (relative to
    |full| for an indicator); 0 where both are NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(cut - full)
        if what == SIDE:
            d = np.where(d > 0, np.inf, 0.0)
        elif what != CONFIDENCE:
            d = d / np.maximum(np.abs(full), _TINY)
    both = np.isnan(full) & np.isnan(cut)
    return np.where(both, 0.0, np.where(np.isnan(d), np.inf, d))


def _compare(full: dict, cut: dict, start: int, tol: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Deviations of `cut` (whose bar 0 is the full data's bar `start`) per name, and the
    mask of bars where any exceeds `tol`."""
    devs = {w: deviation(w, full[w][start: start + len(cut[w])], cut[w]) for w in full}
    bad = np.zeros(len(cut[SIDE]), dtype=bool)
    for d in devs.values():
        bad |= d > tol
    return devs, bad


def _at(full: dict, cut: dict, start: int, devs: dict, i: int, window: int, count: int,
        what: str) -> Difference:
    return Difference(start + i, what, float(full[what][start + i]), float(cut[what][i]),
                      float(devs[what][i]), window, count)


def signal_bars(side: np.ndarray) -> np.ndarray:
    """Bars t >= 1 where the vote changes (side[t] != side[t - 1])."""
    return np.flatnonzero(side[1:] != side[:-1]) + 1


def default_cuts(signals: np.ndarray, n: int, max_cuts: int, seed: int) -> list[int]:
    """Cut right after up to `max_cuts` signals (sampled with `seed`); without signals, at
    a quarter, half and three quarters of the bars and before the last."""
    cuts = np.asarray(signals, dtype=np.int64) + 1
    cuts = cuts[cuts < n]
    if len(cuts) == 0:
        return sorted({n // 4, n // 2, 3 * n // 4, n - 1} - {0})
    if len(cuts) > max_cuts:
        cuts = np.random.default_rng(seed).choice(cuts, size=max_cuts, replace=False)
    return sorted(int(c) for c in cuts)


def lookahead(plugin: Strategy, bars: BarArrays, params: Mapping[str, float],
              cuts: Iterable[int] | None = None, *, max_cuts: int = 10, seed: int = 0,
              tol: float = EXACT) -> LookaheadReport:
    """Re-run on bars[:c] for each cut c (default: right after sampled signals) and compare
    every bar of it with the full run."""
    n = len(bars)
    full = series(plugin, bars, params)
    signals = signal_bars(full[SIDE])
    if cuts is None:
        cuts = default_cuts(signals, n, max_cuts, seed)
    checked = tuple(sorted({int(c) for c in cuts if 0 < int(c) < n}))
    found = []
    for c in checked:
        part = series(plugin, bars[:c], params)
        devs, bad = _compare(full, part, 0, tol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            first = next(w for w in devs if devs[w][i] > tol)  # side before confidence before indicators
            found.append(_at(full, part, 0, devs, i, c, int(bad.sum()), first))
    return LookaheadReport(getattr(plugin, "name", type(plugin).__name__), n, len(signals), checked, tuple(found))


def assert_causal(plugin: Strategy, bars: BarArrays, params: Mapping[str, float],
                  n_cuts: int = 4, seed: int = 0) -> None:
    """Raise LookAheadError when the run on the data cut after a signal differs."""
    if len(bars) < 3:
        return
    report = lookahead(plugin, bars, params, max_cuts=n_cuts, seed=seed)
    if not report.ok:
        raise LookAheadError(f"{report.note()}; params {dict(params)}")


def default_warmups(low: int, required: int, longest: int) -> list[int]:
    """The plugin's own warm-up, quarters and halves of the live window's, then doublings."""
    grid = {low, required // 4, required // 2}
    w = max(required, 1)
    while w <= longest:
        grid.add(w)
        w *= 2
    return sorted(x for x in grid if low <= x <= longest)


def recursive(plugin: Strategy, bars: BarArrays, params: Mapping[str, float],
              warmups: Sequence[int] | None = None, *, compare: int = 50, min_votes: int = 5,
              tol: float = TOLERANCE) -> RecursiveReport:
    """The last `compare` bars after each warm-up (the live window's always included) against
    the full history; see the module docstring. Without indicators, a flat vote hides its
    inputs: the compared stretch then grows until the full run votes on `min_votes` of its
    bars (at most half the bars)."""
    n = len(bars)
    full = series(plugin, bars, params)
    compare = _stretch(full, max(1, min(compare, n - 1)), min_votes, n // 2)
    required = history_bars(plugin, params) - 1
    longest = n - compare - 1  # a warm-up must leave the full run more history than the cut one
    low = plugin.warmup(params)
    chosen = default_warmups(low, required, longest) if warmups is None else list(warmups)
    grid = sorted({int(w) for w in [*chosen, required] if 0 <= int(w) <= longest})
    start = n - compare

    def row(w: int) -> WarmupRow:
        part = series(plugin, bars[start - w:], params)
        part = {k: v[w:] for k, v in part.items()}
        devs, bad = _compare(full, part, start, tol)
        flips = int(np.count_nonzero(devs[SIDE]))
        inds = {k: float(d.max()) for k, d in devs.items() if k not in (SIDE, CONFIDENCE)}
        worst = None
        if bad.any():  # the bar and series furthest past the tolerance (side flips first)
            scaled = np.vstack([d / max(tol, _TINY) for d in devs.values()])
            what_i, i = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
            worst = _at(full, part, start, devs, int(i), w, int(bad.sum()), list(devs)[what_i])
        return WarmupRow(w, flips, float(devs[CONFIDENCE].max()), inds, worst, not bad.any())

    rows = [row(w) for w in grid]
    stable_from = _stable_from(rows, row)
    return RecursiveReport(getattr(plugin, "name", type(plugin).__name__), n, compare,
                           int(np.count_nonzero(full[SIDE][start:])), tol, required, tuple(rows), stable_from)


def _stretch(full: dict, compare: int, min_votes: int, most: int) -> int:
    """`compare`, or more bars at the end (up to `most`) when the series hold no indicator and
    the last `compare` bars fewer than `min_votes` non-flat votes."""
    if len(full) > 2 or compare >= most:
        return compare
    active = np.flatnonzero(full[SIDE][::-1] != 0)  # bars from the end that vote
    if len(active) == 0:
        return compare
    return int(min(most, max(compare, active[min(min_votes, len(active)) - 1] + 1)))


def _stable_from(rows: list[WarmupRow], row) -> int | None:
    """The smallest warm-up from which every one tried is stable: the grid rows, then, below
    the first stable row above the last unstable one, every warm-up down to the first
    unstable one (every `step` bars when that gap exceeds `SCAN` bars)."""
    if not rows or not rows[-1].stable:
        return None
    k = len(rows) - 1
    while k > 0 and rows[k - 1].stable:
        k -= 1
    if k == 0:
        return rows[0].warmup
    lo, hi = rows[k - 1].warmup, rows[k].warmup  # unstable, stable
    step = max(1, -(-(hi - lo) // SCAN))
    while hi - step > lo and row(hi - step).stable:
        hi -= step
    return hi
