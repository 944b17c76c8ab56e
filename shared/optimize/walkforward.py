"""Rolling walk-forward windows and the no-look-ahead checks.

The window of n bars is cut into K folds. Fold k searches on its in-sample bars
[is_start, is_end) and is judged on the out-of-sample bars right after,
[oos_start = is_end, oos_end); the out-of-sample stretches tile the end of the window:

    |--- IS 0 ---|-OOS 0-|
            |--- IS 1 ---|-OOS 1-|
                    |--- IS 2 ---|-OOS 2-|  <- oos_end of the last fold = n

Two rules keep the future out:
- a fold's search sees only `bars[is_start:is_end]` (a slice that ends there: later bars
  do not exist for it);
- the out-of-sample backtest runs on `bars[oos_start - warm : oos_end]`, the `warm` bars
  before oos_start (the past) serving only to warm indicators: votes there are zeroed so
  the account starts flat at oos_start.

`explain` writes the folds as numbers for a guard's refusal: per fold, the in-sample score
of its best candidate, that candidate's out-of-sample score and the current parameters'.

A strategy could still peek inside the slice it is given (bar t using bar t + 1).
`assert_causal` (shared/research/bias.py, re-exported here) catches that: a causal
strategy's votes on bars[:c] equal the first c votes on the longer series; any difference
is a look-ahead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shared.research.bias import LookAheadError, assert_causal  # noqa: F401 (the look-ahead checks live there)
from shared.strategies.base import BarArrays, Strategy, VoteSeries


@dataclass(frozen=True)
class Fold:
    index: int
    is_start: int
    is_end: int
    oos_start: int
    oos_end: int

    @property
    def in_sample(self) -> slice:
        return slice(self.is_start, self.is_end)

    @property
    def out_of_sample(self) -> slice:
        return slice(self.oos_start, self.oos_end)


def sizes(n: int, folds: int, in_sample_ratio: float) -> tuple[int, int]:
    """(in-sample, out-of-sample) lengths so that IS + folds * OOS = n and IS = ratio * OOS."""
    if folds < 1 or in_sample_ratio <= 0:
        raise ValueError("need folds >= 1 and in_sample_ratio > 0")
    oos = int(n // (in_sample_ratio + folds))
    return int(oos * in_sample_ratio), oos


def splits(n: int, in_sample: int, out_of_sample: int, step: int | None = None) -> list[Fold]:
    """Rolling folds, oldest first; the last out-of-sample stretch ends at bar n."""
    if in_sample < 1 or out_of_sample < 1:
        raise ValueError(f"in_sample ({in_sample}) and out_of_sample ({out_of_sample}) must be >= 1")
    step = step or out_of_sample
    ends = []
    oos_end = n
    while oos_end - out_of_sample - in_sample >= 0:
        ends.append(oos_end)
        oos_end -= step
    folds = []
    for i, end in enumerate(reversed(ends)):
        oos_start = end - out_of_sample
        folds.append(Fold(i, oos_start - in_sample, oos_start, oos_start, end))
    return folds


def check_splits(folds: Sequence[Fold], n: int) -> None:
    """Raise ValueError if a fold's in-sample reaches into its out-of-sample or beyond n."""
    for f in folds:
        if not (0 <= f.is_start < f.is_end <= f.oos_start < f.oos_end <= n):
            raise ValueError(f"fold {f.index} leaks or is out of range: {f}")


def explain(rows: Sequence[Mapping], objective: str) -> str:
    """One line per fold from the job's fold rows (fold, is, oos, is_score, oos_score,
    current_oos_score): `fold 0 bars 0-2880 | 2880-3600: sharpe IS 1.234 -> OOS -0.456
    (current -0.200)`; a missing score (too few trades) reads `n/a`."""

    def num(x) -> str:
        return "n/a" if x is None else f"{float(x):.3f}"

    return "; ".join(
        f"fold {r['fold']} bars {r['is'][0]}-{r['is'][1]} | {r['oos'][0]}-{r['oos'][1]}: {objective} "
        f"IS {num(r.get('is_score'))} -> OOS {num(r.get('oos_score'))} (current {num(r.get('current_oos_score'))})"
        for r in rows)


def oos_votes(plugin: Strategy, bars: BarArrays, params: Mapping[str, float], fold: Fold,
              warm: int) -> tuple[BarArrays, VoteSeries, int]:
    """Bars and votes for the out-of-sample backtest of `fold` (see the module docstring);
    returns the offset of oos_start inside them."""
    start = max(0, fold.oos_start - warm)
    window = bars[start:fold.oos_end]
    votes = plugin.votes(window, params)
    offset = fold.oos_start - start
    side = votes.side.copy()
    side[:offset] = 0
    return window, VoteSeries(side, np.where(side != 0, votes.confidence, 0.0)), offset
