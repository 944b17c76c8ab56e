"""The ensemble decision: weighted consensus of the voters (strategies and the LSTM).

For each side, score = sum(confidence * weight over voters on that side) divided by
sum(weight over ALL voters with weight > 0), flat voters included: a live voter with no
opinion dilutes the decision rather than being ignored. A voter that stands aside
(shared/signals/standing.py) or whose regime gate is closed votes on paper with weight 0 and
is left out: the live voters decide. `abstaining` adds weight that counts as flat anyway
(config/signals.yaml `dilute: true` passes the weight of the voters standing aside, so a lone
live voter needs the whole ensemble's conviction). The ensemble acts only when the leading
side's score is strictly ABOVE the threshold (default 0.60): a score of exactly 0.60 does
not act. Scores within 1e-9 of the threshold count as equal to it, so float noise such as
0.1 + 0.2 cannot tip a boundary case into a trade. Voter names are free (strategy instance
names, "lstm", ...) but must be unique within one decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.contracts import Side, Vote

DEFAULT_THRESHOLD = 0.60
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Consensus:
    """The outcome for one bar. `side` is the leading side (None when no voter has an
    opinion or both sides tie) and `score` its share; `acted` says whether it passed the
    threshold. `votes` keeps every component for the Signal and the audit trail."""

    side: Side | None
    score: float
    votes: tuple[Vote, ...]
    acted: bool
    buy_score: float = 0.0
    sell_score: float = 0.0


def consensus(votes: Sequence[Vote], threshold: float = DEFAULT_THRESHOLD, abstaining: float = 0.0) -> Consensus:
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if not abstaining >= 0.0:
        raise ValueError(f"abstaining weight must be >= 0, got {abstaining}")
    votes = tuple(votes)
    names = [v.voter for v in votes]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"voters must be unique within one decision; repeated: {dupes}")
    total = sum(v.weight for v in votes if v.weight > 0) + abstaining
    if total <= 0 or not any(v.weight > 0 for v in votes):
        return Consensus(None, 0.0, votes, False)
    buy = sum(v.confidence * v.weight for v in votes if v.side is Side.BUY) / total
    sell = sum(v.confidence * v.weight for v in votes if v.side is Side.SELL) / total
    if buy > sell:
        side, score = Side.BUY, buy
    elif sell > buy:
        side, score = Side.SELL, sell
    else:
        side, score = None, buy
    acted = side is not None and score > threshold + TOLERANCE
    return Consensus(side, score, votes, acted, buy_score=buy, sell_score=sell)
