"""Nightly re-weighting of the ensemble toward the voters whose recent opinions paid.

Pure: weights and performance in, new weights out; the caller stores versions.

1. The current weights are normalised to sum to 1.
2. Each voter's performance becomes a score: a float as given (any unit shared by all
   voters: realised PnL, bps, Sharpe...), or `VoterStats.score` (PnL per trade) when the
   voter has at least `min_trades` trades. Voters without enough data are neutral.
3. Scores are standardised across the voters that have data (z-scores), and the target is
   the multiplicative-weights update `w * exp(learning_rate * z)`, normalised.
4. The result is the point closest to the target with every weight inside
   [floor, cap] and within `max_step` of its current value, summing to 1. If the current
   weights are so far outside [floor, cap] that both cannot hold, floor and cap win.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shared.contracts import Side, Vote

_BISECT_STEPS = 100


@dataclass(frozen=True)
class VoterStats:
    """Realised record of one voter: trades it had an opinion on, and the PnL credited."""

    trades: int
    pnl: float
    wins: int = 0

    @property
    def score(self) -> float:
        return self.pnl / self.trades if self.trades else 0.0

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0


@dataclass(frozen=True)
class Outcome:
    """A closed trade: the side the ensemble took, its realised PnL and the votes behind it."""

    side: Side
    pnl: float
    votes: Sequence[Vote]


def credit(outcomes: Iterable[Outcome]) -> dict[str, VoterStats]:
    """Credit every voter that had an opinion: +pnl when it voted the traded side, -pnl
    when it voted against; flat voters are not credited."""
    acc: dict[str, list[float]] = {}
    for outcome in outcomes:
        for vote in outcome.votes:
            if vote.side is None:
                continue
            signed = outcome.pnl if vote.side is outcome.side else -outcome.pnl
            trades, pnl, wins = acc.get(vote.voter, (0, 0.0, 0))
            acc[vote.voter] = [trades + 1, pnl + signed, wins + (signed > 0)]
    return {name: VoterStats(int(t), float(p), int(w)) for name, (t, p, w) in acc.items()}


def reweight(
    current: Mapping[str, float],
    performance: Mapping[str, float | VoterStats],
    *,
    floor: float = 0.05,
    cap: float = 0.60,
    max_step: float = 0.10,
    learning_rate: float = 0.5,
    min_trades: int = 5,
) -> dict[str, float]:
    """New weights (same voters as `current`, summing to 1); see the module docstring."""
    names = list(current)
    n = len(names)
    if n == 0:
        return {}
    if n == 1:  # a lone voter (one strategy, no LSTM) is the whole ensemble: nothing to move
        return {names[0]: 1.0}
    _check(current, floor, cap, max_step, learning_rate, n)
    total = sum(current.values())
    w0 = [current[k] / total for k in names] if total > 0 else [1.0 / n] * n
    z = _zscores([_score(performance.get(k), min_trades) for k in names])
    tilted = [w * math.exp(learning_rate * s) for w, s in zip(w0, z)]
    norm = sum(tilted)
    target = [t / norm for t in tilted] if norm > 0 else [1.0 / n] * n
    lo = [max(floor, w - max_step) for w in w0]
    hi = [min(cap, w + max_step) for w in w0]
    if sum(lo) > 1.0 or sum(hi) < 1.0 or any(a > b for a, b in zip(lo, hi)):
        lo, hi = [floor] * n, [cap] * n
    return dict(zip(names, _project(target, lo, hi)))


def _check(current, floor, cap, max_step, learning_rate, n) -> None:
    for name, w in current.items():
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"weight of {name!r} must be finite and >= 0, got {w}")
    if not 0.0 <= floor <= cap <= 1.0:
        raise ValueError(f"need 0 <= floor ({floor}) <= cap ({cap}) <= 1")
    if floor * n > 1.0 + 1e-12 or cap * n < 1.0 - 1e-12:
        raise ValueError(f"{n} voters cannot sum to 1 with floor {floor} and cap {cap}")
    if not max_step > 0 or not learning_rate >= 0:
        raise ValueError("max_step must be > 0 and learning_rate >= 0")


def _score(perf: float | VoterStats | None, min_trades: int) -> float | None:
    if perf is None:
        return None
    if isinstance(perf, VoterStats):
        return perf.score if perf.trades >= min_trades else None
    value = float(perf)
    return value if math.isfinite(value) else None


def _zscores(scores: list[float | None]) -> list[float]:
    known = [s for s in scores if s is not None]
    if len(known) < 2:
        return [0.0] * len(scores)
    mean = sum(known) / len(known)
    std = math.sqrt(sum((s - mean) ** 2 for s in known) / len(known))
    if std <= 1e-12 * max(1.0, abs(mean)):
        return [0.0] * len(scores)
    return [0.0 if s is None else (s - mean) / std for s in scores]


def _project(target: list[float], lo: list[float], hi: list[float]) -> list[float]:
    """Euclidean projection of `target` onto {sum = 1, lo <= w <= hi}: clip(target + t)."""

    def total(shift: float) -> float:
        return sum(min(h, max(l, x + shift)) for x, l, h in zip(target, lo, hi))

    a, b = -1.0 - max(target), 1.0 + max(hi)
    for _ in range(_BISECT_STEPS):
        mid = (a + b) / 2
        if total(mid) < 1.0:
            a = mid
        else:
            b = mid
    out = [min(h, max(l, x + b)) for x, l, h in zip(target, lo, hi)]
    # remove the last rounding residue where there is room, keeping every bound
    residue = 1.0 - sum(out)
    for i in sorted(range(len(out)), key=lambda i: -(hi[i] - out[i] if residue > 0 else out[i] - lo[i])):
        room = hi[i] - out[i] if residue > 0 else out[i] - lo[i]
        step = math.copysign(min(abs(residue), room), residue)
        out[i] += step
        residue -= step
        if abs(residue) <= 0.0:
            break
    return out
