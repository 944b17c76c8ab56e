"""The search space of a strategy: its YAML parameter ranges (min, max, step, kind).

Every proposed value is snapped onto the declared grid (min + k * step, integers for
`kind: int`) and clipped into [min, max], so a recommendation is always a value the YAML
allows; `ParamSpec.safe_min/safe_max` bound what may be auto-applied (see shared.params).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shared.strategies.config import StrategySpec


@dataclass(frozen=True)
class Dim:
    name: str
    kind: str  # "int" | "float"
    low: float
    high: float
    step: float | None = None

    def snap(self, value: float) -> float:
        v = min(max(float(value), self.low), self.high)
        if self.step:
            v = self.low + round((v - self.low) / self.step) * self.step
            if v > self.high + 1e-12:
                v -= self.step
        if self.kind == "int":
            v = float(round(v))
            v = min(max(v, math.ceil(self.low)), math.floor(self.high))
        return float(f"{v:.12g}")

    def count(self) -> int | None:
        """Distinct values on the grid, None when continuous."""
        if self.kind == "int" and not self.step:
            return int(math.floor(self.high) - math.ceil(self.low)) + 1
        if self.step:
            return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return None

    def points(self, k: int) -> list[float]:
        """At most k values spread evenly over the range, ends included, on the grid."""
        total = self.count()
        if self.low == self.high or k <= 1:
            return [self.snap((self.low + self.high) / 2 if k == 1 and self.low != self.high else self.low)]
        if total is not None and total <= k:
            return sorted({self.snap(self.low + i * (self.step or 1.0)) for i in range(total)})
        return sorted({self.snap(v) for v in np.linspace(self.low, self.high, k)})


@dataclass(frozen=True)
class Space:
    dims: tuple[Dim, ...]

    @classmethod
    def of(cls, spec: StrategySpec) -> Space:
        return cls(tuple(Dim(name, p.kind, p.min, p.max, p.step) for name, p in spec.params.items()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def snap(self, values: Mapping[str, float]) -> dict[str, float]:
        return {d.name: d.snap(values[d.name]) for d in self.dims if d.name in values}

    def grid(self, max_points: int) -> list[dict[str, float]]:
        """A full factorial grid of at most `max_points` points (per-dimension counts
        balanced; dimensions with fewer grid values give their share to the others)."""
        if not self.dims:
            return [{}]
        counts = [1] * len(self.dims)
        caps = [d.count() or max_points for d in self.dims]
        while True:
            grown = False
            for i in sorted(range(len(self.dims)), key=lambda j: counts[j]):
                if counts[i] >= caps[i]:
                    continue
                trial = counts.copy()
                trial[i] += 1
                if math.prod(trial) <= max_points:
                    counts, grown = trial, True
            if not grown:
                break
        axes = [d.points(c) for d, c in zip(self.dims, counts)]
        return [dict(zip(self.names, combo)) for combo in itertools.product(*axes)]

    def sample(self, rng: np.random.Generator, n: int) -> list[dict[str, float]]:
        """n uniform random points, snapped to the grid."""
        out = []
        for _ in range(n):
            point = {}
            for d in self.dims:
                if d.kind == "int":
                    raw = float(rng.integers(math.ceil(d.low), math.floor(d.high) + 1))
                else:
                    raw = rng.uniform(d.low, d.high)
                point[d.name] = d.snap(raw)
            out.append(point)
        return out
