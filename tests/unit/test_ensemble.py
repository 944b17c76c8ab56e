"""Weighted consensus: the threshold boundary, weights, dilution by flat voters."""

from __future__ import annotations

import pytest

from shared.contracts import Side, Vote
from shared.signals import DEFAULT_THRESHOLD, consensus

pytestmark = pytest.mark.timeout(10)

BUY, SELL = Side.BUY, Side.SELL


def v(voter: str, side: Side | None, confidence: float, weight: float = 1.0) -> Vote:
    return Vote(voter=voter, side=side, confidence=confidence, weight=weight)


def test_exactly_the_threshold_does_not_act_and_just_above_does():
    assert DEFAULT_THRESHOLD == 0.60
    at = consensus([v("momentum", BUY, 0.60)])
    assert at.side is BUY and at.score == pytest.approx(0.60) and not at.acted
    above = consensus([v("momentum", BUY, 0.6001)])
    assert above.acted and above.side is BUY
    below = consensus([v("momentum", SELL, 0.5999)])
    assert below.side is SELL and not below.acted


def test_float_noise_at_the_boundary_does_not_act():
    # (0.1 + 0.2) / 0.5 is 0.6000000000000001 in floats: still "exactly 0.60"
    votes = [v("a", BUY, 1.0, 0.1), v("b", BUY, 1.0, 0.2), v("c", None, 0.0, 0.2)]
    result = consensus(votes)
    assert result.score > 0.6 and result.score == pytest.approx(0.6)
    assert not result.acted


def test_flat_voters_dilute_the_score():
    strong = [v("momentum", BUY, 0.9), v("breakout", BUY, 0.9)]
    assert consensus(strong).acted and consensus(strong).score == pytest.approx(0.9)
    diluted = consensus([*strong, v("rsi", None, 0.0), v("mean_reversion", None, 0.0)])
    assert diluted.score == pytest.approx(0.45) and not diluted.acted


def test_weights_decide_between_disagreeing_voters():
    votes = [v("momentum", BUY, 0.9, 3.0), v("rsi", SELL, 0.9, 1.0)]
    result = consensus(votes)
    assert result.side is BUY and result.score == pytest.approx(0.675) and result.acted
    assert result.buy_score == pytest.approx(0.675) and result.sell_score == pytest.approx(0.225)
    flipped = consensus([v("momentum", BUY, 0.9, 1.0), v("rsi", SELL, 0.9, 3.0)])
    assert flipped.side is SELL and flipped.acted
    even = consensus([v("momentum", BUY, 0.9, 1.0), v("rsi", SELL, 0.9, 1.0)])
    assert even.side is None and not even.acted


def test_zero_weight_voters_are_ignored_and_empty_input_is_flat():
    votes = [v("momentum", BUY, 0.7, 1.0), v("muted", SELL, 1.0, 0.0), v("idle", None, 0.0, 0.0)]
    result = consensus(votes)
    assert result.score == pytest.approx(0.7) and result.acted and result.votes == tuple(votes)
    for empty in ([], [v("muted", BUY, 1.0, 0.0)]):
        nothing = consensus(empty)
        assert (nothing.side, nothing.score, nothing.acted) == (None, 0.0, False)


def test_any_voter_name_works_and_duplicates_are_rejected():
    votes = [v("momentum", SELL, 0.8, 0.35), v("lstm", SELL, 0.9, 0.5), v("rsi", None, 0.0, 0.15)]
    result = consensus(votes)
    assert result.side is SELL and result.score == pytest.approx((0.28 + 0.45) / 1.0) and result.acted
    with pytest.raises(ValueError, match="momentum"):
        consensus([v("momentum", BUY, 0.8), v("momentum", BUY, 0.8)])


def test_custom_threshold():
    votes = [v("a", BUY, 0.7)]
    assert not consensus(votes, threshold=0.7).acted
    assert consensus(votes, threshold=0.5).acted
    with pytest.raises(ValueError):
        consensus(votes, threshold=1.5)


def test_voters_standing_aside_abstain_as_flat_and_cannot_push_a_side():
    live = v("momentum", BUY, 0.9, 0.35)
    aside = v("breakout", SELL, 1.0, 0.0)  # on paper: weight 0, its configured 0.35 abstains
    alone = consensus([live, aside])
    assert alone.score == pytest.approx(0.9) and alone.acted  # 0.9 x 0.35 / 0.35: promoted to 0.9
    abstained = consensus([live, aside], abstaining=0.35)
    # 0.9 x 0.35 / (0.35 + 0.35) = 0.315 / 0.70 = 0.45 <= 0.60: no trade; the paper SELL counts 0
    assert (abstained.side, abstained.sell_score, abstained.acted) == (BUY, 0.0, False)
    assert abstained.score == pytest.approx(0.45)
    assert consensus([aside], abstaining=0.35).side is None  # nobody live: nothing to decide
    with pytest.raises(ValueError, match="abstaining"):
        consensus([live], abstaining=-0.1)
