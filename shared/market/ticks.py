"""Float prices and sizes to venue-precision Decimals (tick and lot grids)."""

from __future__ import annotations

import math
from decimal import Decimal

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
