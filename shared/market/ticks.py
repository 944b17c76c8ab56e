"""Float prices and sizes to venue-precision Decimals (tick and lot grids)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

_EPS = 1e-9


class Grid:
    """A price or size grid such as tick 0.01 or lot 0.0001."""

    def __init__(self, unit: Decimal):
        if unit <= 0:
            raise ValueError("grid unit must be positive")
        self.unit = unit
        self.step = float(unit)

    def floor(self, x: float) -> int:
        return math.floor(x / self.step + _EPS)

    def ceil(self, x: float) -> int:
        return math.ceil(x / self.step - _EPS)

    def round(self, x: float) -> int:
        return round(x / self.step)

    def decimal(self, units: int) -> Decimal:
        """`units` grid steps as an exact Decimal with the grid's exponent."""
        return Decimal(int(units)) * self.unit

    def floats(self, units: np.ndarray) -> np.ndarray:
        """`float(self.decimal(u))` for every u of an integer array, without the Decimals:
        the unit is m x 10^e (integers), so u x m is an exact integer and one IEEE division
        (or product) by 10^|e| rounds the exact value once, as the float of the Decimal
        does. Outside exact float range (|u x m| >= 2^53 or |e| > 22) through the Decimals."""
        units = np.asarray(units, dtype=np.int64)
        sign, digits, exp = self.unit.as_tuple()
        m = int("".join(map(str, digits))) * (-1 if sign else 1)
        largest = max(abs(int(units.min())), abs(int(units.max()))) if units.size else 0
        if abs(exp) > 22 or largest * abs(m) >= 2**53:
            return np.array([float(self.decimal(int(u))) for u in units.tolist()], dtype=np.float64)
        exact = (units * m).astype(np.float64)
        return exact / float(10 ** -exp) if exp < 0 else exact * float(10 ** exp)
