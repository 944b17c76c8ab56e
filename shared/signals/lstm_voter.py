"""The LSTM as one more voter: its input window is built from the signal step's stored
bar windows of the configured venues, and its probability becomes a vote.

No TensorFlow here: the model runs behind the Predictor port (HTTP service or Vertex)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from shared.contracts import Bar, Side, Vote
from shared.ml.config import FeatureSpec
from shared.ml.features import VenueSeries, latest_window
from shared.ports import Transaction
from shared.signals import window_bars

RETRY_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class LstmInput:
    spec: FeatureSpec

    def applies(self, bar: Bar) -> bool:
        return bar.symbol == self.spec.symbol and bar.venue in self.spec.venues

    def window(self, tx: Transaction, current: tuple[str, list]) -> list | None:
        """The newest [window, features] input, or None while there is not enough history.
        `current` is (venue, rows) of the bar being handled (not yet stored)."""
        series = {}
        for venue in self.spec.venues:
            if venue == current[0]:
                rows = current[1]
            else:
                doc = tx.get("windows", f"{venue}-{self.spec.symbol.replace('/', '-')}")
                rows = window_bars.rows(tx, doc) if doc else []
            if not rows:
                return None
            times = np.array([int(datetime.fromisoformat(r[0]).timestamp()) for r in rows], dtype=np.int64)
            series[venue] = VenueSeries(times=times, close=np.array([r[4] for r in rows]),
                                        volume=np.array([r[5] for r in rows]))
        try:
            return latest_window(series, self.spec).tolist()
        except ValueError:
            return None  # not enough aligned bars yet


def vote_from_probability(prob: float, weight: float) -> Vote:
    """P(next-horizon return beats fees) → buy above 0.5, sell below; confidence 2|p-0.5|."""
    side = Side.BUY if prob >= 0.5 else Side.SELL
    return Vote(voter="lstm", side=side, confidence=min(1.0, abs(prob - 0.5) * 2), weight=weight)


def predictor_resting(state: dict, now: datetime) -> bool:
    """After a failure the predictor is not asked again for RETRY_AFTER (one warning per outage)."""
    if state.get("status") != "down" or not state.get("checked_at"):
        return False
    return now - datetime.fromisoformat(state["checked_at"]) < RETRY_AFTER
