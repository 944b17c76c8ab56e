"""The optimizer's guard explains a refusal in numbers: in-sample vs out-of-sample and folds."""

from __future__ import annotations

from shared.optimize.config import load_optimizer_config
from shared.optimize.job import _decide
from shared.optimize.walkforward import explain

CFG = load_optimizer_config()  # sharpe; guards: min_oos_trades 5, collapse_ratio 0.25, min_improvement 0.1
CUR = {"lookback": 10.0}
REC = {"lookback": 20.0}


def test_a_collapse_names_both_scores_and_the_guard_value():
    status, note = _decide(REC, CUR, -0.5, -0.2, 2.0, 12, CFG)
    # guard: 25 % of the in-sample 2.000 = 0.500; out-of-sample -0.500 is below it
    assert status == "no_improvement"
    assert note == ("out-of-sample sharpe collapsed: -0.500 walk-forward out-of-sample against 2.000 mean "
                    "in-sample (guard: at least 25% of in-sample = 0.500); current parameters -0.200 out-of-sample")


def test_a_collapse_from_a_negative_in_sample_says_the_floor_is_zero():
    _, note = _decide(REC, CUR, -17.429, -3.0, -7.158, 12, CFG)
    assert "-17.429 walk-forward out-of-sample against -7.158 mean in-sample" in note
    assert "at least 0 when the in-sample score is not positive" in note


def test_too_small_an_improvement_gives_both_scores_and_the_margin():
    _, note = _decide(REC, CUR, 0.55, 0.50, 0.9, 12, CFG)  # 0.55 < 0.50 + 0.1
    assert note == ("walk-forward out-of-sample sharpe 0.550 does not beat the current 0.500 by 0.1 "
                    "(in-sample 0.900)")


def test_folds_are_written_out_in_numbers():
    rows = [{"fold": 0, "is": [0, 2880], "oos": [2880, 3600], "is_score": 1.2344, "oos_score": -0.4561,
             "current_oos_score": -0.2},
            {"fold": 1, "is": [720, 3600], "oos": [3600, 4320], "is_score": 0.8, "oos_score": None,
             "current_oos_score": 0.1}]
    assert explain(rows, "sharpe") == (
        "fold 0 bars 0-2880 | 2880-3600: sharpe IS 1.234 -> OOS -0.456 (current -0.200); "
        "fold 1 bars 720-3600 | 3600-4320: sharpe IS 0.800 -> OOS n/a (current 0.100)")
