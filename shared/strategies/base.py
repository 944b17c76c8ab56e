"""The strategy plugin interface: bar arrays in, a vote per bar out.

A strategy is pure: `votes(bars, params)` looks at whole float64 arrays (oldest first) and
returns, for every bar t, the side it would take at bar t's close using bars[: t + 1] only.
The same call serves the vectorised backtester (one call over a year of bars) and the live
signal step (the last element of a short window, see `registry.latest_vote`). A backtest
that acts on the vote of bar t must fill at bar t + 1 or later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from shared.contracts import Bar

FLAT, LONG, SHORT = 0, 1, -1

_FIELDS = ("open", "high", "low", "close", "volume")


def _as_f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class BarArrays:
    """OHLCV of one venue/symbol/timeframe as float64 arrays of equal length, oldest first."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in _FIELDS:
            arr = _as_f64(getattr(self, name))
            if arr.ndim != 1:
                raise ValueError(f"BarArrays.{name} must be 1-D, got shape {arr.shape}")
            if n is None:
                n = len(arr)
            elif len(arr) != n:
                raise ValueError(f"BarArrays.{name} has {len(arr)} values, expected {n}")
            object.__setattr__(self, name, arr)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarArrays:
        """From closed Bar messages (Decimal prices), oldest first."""
        rows = np.array(
            [(b.open, b.high, b.low, b.close, b.volume) for b in bars], dtype=np.float64
        ).reshape(-1, 5)
        return cls(*(rows[:, i].copy() for i in range(5)))

    @classmethod
    def from_close(cls, close, volume=None) -> BarArrays:
        """Bars whose open/high/low equal the close (handy for tests and tick-like series)."""
        c = _as_f64(close)
        v = np.ones_like(c) if volume is None else _as_f64(volume)
        return cls(c, c, c, c, v)

    def __len__(self) -> int:
        return len(self.close)

    def __getitem__(self, index: slice) -> BarArrays:
        """A slice of bars (views, no copy), e.g. `bars[-200:]`."""
        if not isinstance(index, slice):
            raise TypeError("BarArrays supports slices only, e.g. bars[-200:]")
        return BarArrays(*(getattr(self, name)[index] for name in _FIELDS))


@dataclass(frozen=True, eq=False)
class VoteSeries:
    """One vote per bar: side in {-1, 0, +1} (int8) and confidence in [0, 1] (0 when flat)."""

    side: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        side = np.ascontiguousarray(self.side, dtype=np.int8)
        conf = _as_f64(self.confidence)
        if side.shape != conf.shape or side.ndim != 1:
            raise ValueError(f"side {side.shape} and confidence {conf.shape} must be equal 1-D")
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "confidence", conf)

    def __len__(self) -> int:
        return len(self.side)

    @classmethod
    def flat(cls, n: int) -> VoteSeries:
        return cls(np.zeros(n, dtype=np.int8), np.zeros(n))

    @classmethod
    def from_conditions(
        cls, buy: np.ndarray, sell: np.ndarray, confidence: np.ndarray, warmup: int = 0
    ) -> VoteSeries:
        """Build from boolean buy/sell masks (NaN-safe). Bars before `warmup`, bars where
        both or neither fire, and bars with a non-finite confidence are flat."""
        conf = np.asarray(confidence, dtype=np.float64)
        ok = np.isfinite(conf)
        buy = np.asarray(buy, dtype=bool) & ok
        sell = np.asarray(sell, dtype=bool) & ok
        side = buy.astype(np.int8) - sell.astype(np.int8)
        side[: max(0, warmup)] = FLAT
        with np.errstate(invalid="ignore"):
            conf = np.where(side != FLAT, np.minimum(np.maximum(conf, 0.0), 1.0), 0.0)
        return cls(side, conf)


def ramp(excess: np.ndarray, scale: float) -> np.ndarray:
    """Confidence for a signal that passed its threshold by `excess` (>= 0): 0.5 right at
    the threshold, rising smoothly toward 1 (0.82 one `scale` past it, 0.93 at two)."""
    if not scale > 0:
        raise ValueError(f"confidence scale must be > 0, got {scale}")
    return 1.0 - 0.5 * np.exp(-np.maximum(excess, 0.0) / scale)


def ramp_last(excess: float, scale: float) -> float:
    """`ramp` of one value, the very same float as `ramp` gives it inside a float64 array
    (NaN stays NaN)."""
    if not scale > 0:
        raise ValueError(f"confidence scale must be > 0, got {scale}")
    excess, scale = float(excess), float(scale)  # float64 arithmetic, as in the array
    kept = excess if (excess > 0.0 or math.isnan(excess)) else 0.0  # np.maximum(excess, 0): NaN stays
    # the negation, division and 1 - 0.5 * e are the IEEE operations numpy does element-wise;
    # the exp is numpy's own loop (a float64 scalar runs it as a one-element array), not
    # math.exp: with AVX-512 numpy's exp differs from the C library's in the last bit
    return 1.0 - 0.5 * float(np.exp(np.float64(-kept / scale)))


def last_vote(buy: bool, sell: bool, confidence: float) -> tuple[int, float]:
    """`VoteSeries.from_conditions` for one bar past the warm-up: (side, confidence) as the
    series would hold them at that bar (flat when both or neither fire, or the confidence
    is not finite)."""
    if not math.isfinite(confidence):
        return FLAT, 0.0
    side = int(bool(buy)) - int(bool(sell))
    return (side, min(max(confidence, 0.0), 1.0)) if side != FLAT else (FLAT, 0.0)


def as_int(params: Mapping[str, float], name: str, low: int = 1) -> int:
    """An integer parameter (YAML kind: int); rejects non-integral or too-small values."""
    problem = int_problem(params, name, low)
    if problem:
        raise ValueError(f"params.{name}: {problem[1]}")
    return round(float(params[name]))


def int_problem(params: Mapping[str, float], name: str, low: int = 1) -> tuple[str, str] | None:
    """(name, why) when an integer parameter is not an integer >= `low`; for `check()`."""
    value = float(params[name])
    if not math.isfinite(value) or value != round(value) or value < low:
        return name, f"must be an integer >= {low}, got {value}"
    return None


def merged(defaults: Mapping[str, float], params: Mapping[str, float]) -> dict[str, float]:
    """The plugin's defaults overlaid with the given params (unknown names are ignored)."""
    return {name: float(params.get(name, default)) for name, default in defaults.items()}


@runtime_checkable
class Strategy(Protocol):
    """A strategy plugin. Implementations are stateless singletons (see `registry`).

    Optional hook (not a Protocol member, so plugins without it still are Strategies):
    `indicators(bars, params) -> dict[str, np.ndarray]`, the named series a plugin's votes
    are computed from, one value per bar under the same rule as the votes (index t uses
    bars[: t + 1] only). The bias checks (shared/research/bias.py) compare them as well
    as the votes; read them through `indicators_of`.

    Optional hook `latest(bars, params) -> (side, confidence)`: the vote of the last bar
    only, for a window longer than `warmup` (the live signal step, `registry.latest_vote`).
    It must equal `votes(bars, params)` at [-1] exactly, float for float (the built-in ones
    do the same arithmetic on the same values, only for the last bar; proven over random
    series in tests/unit/test_signal_fast_votes.py).
    """

    name: str
    """Plugin name, e.g. "momentum" (YAML `plugin:`)."""

    defaults: Mapping[str, float]
    """Every parameter the plugin reads, with its default. Missing params take these."""

    def warmup(self, params: Mapping[str, float]) -> int:
        """Bars needed before the first vote: votes.side[:warmup] is always flat, and a
        live window needs more than `warmup` bars for its last bar to vote."""
        ...

    def check(self, params: Mapping[str, float]) -> list[tuple[str, str]]:
        """Problems with a parameter set as (param name, message); empty when usable."""
        ...

    def votes(self, bars: BarArrays, params: Mapping[str, float]) -> VoteSeries:
        """One vote per bar, vectorised; bar t's vote uses bars[: t + 1] only."""
        ...


def indicators_of(plugin: Strategy, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The plugin's optional `indicators(bars, params)` as float64 arrays; {} without the hook."""
    hook = getattr(plugin, "indicators", None)
    if hook is None:
        return {}
    out = {str(name): _as_f64(values) for name, values in hook(bars, params).items()}
    for name, values in out.items():
        if values.shape != (len(bars),):
            raise ValueError(f"indicator {name!r} has shape {values.shape}, expected ({len(bars)},)")
    return out
