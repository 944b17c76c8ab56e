"""The backtest and optimisation report pages: self-contained, the window named in dates,
one unit per kind, numbers rounded for people, never overwritten, and the reason a backtest
stopped trading on the page."""

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.backtest import report, run
from shared.backtest import report_html as ui
from shared.optimize.job import Outcome
from tests.unit.test_report_why import LIVE, bars, votes

pytestmark = pytest.mark.timeout(60)
END = datetime(2026, 1, 5, tzinfo=UTC)
NOW = datetime(2026, 1, 6, 9, 30, tzinfo=UTC)


def self_contained(page: str) -> bool:
    """Nothing fetched: no script, stylesheet link or image from outside the file."""
    return (not re.search(r"<script|<link|src=['\"](?!data:)|url\(", page)) and "<style>" in page


def test_numbers_have_one_unit_per_kind_and_are_rounded_for_people():
    assert ui.number(0.4, "frac") == "40.00 %"  # win_rate is a fraction: shown x 100
    assert ui.number(-0.11843, "pct") == "-0.12 %"  # *_pct are percent already
    assert ui.number(43200, "count") == "43,200"
    assert ui.number(30.00471, "money", "USDT") == "30.00 USDT"
    assert ui.number(-2.21912, "ratio") == "-2.22"
    assert ui.number(None) == "n/a"
    assert ui.number(10.0) == "10" and ui.number(0.0035) == "0.0035"  # parameters
    assert ui.sign_class(0.0001) == "" and ui.sign_class(-0.12) == "neg"  # as shown, 2 decimals


def test_a_report_is_never_overwritten(tmp_path):
    first = ui.unique_path(tmp_path, "backtest-x")
    first.write_text("one")
    second = ui.unique_path(tmp_path, "backtest-x")
    assert (first.name, second.name) == ("backtest-x.html", "backtest-x-2.html")
    assert first.read_text() == "one"


def test_the_backtest_page_names_the_window_and_says_why_trading_stopped(tmp_path):
    # the hand-stated books of test_report_why: +10 then -40, then Kelly -1.5 sizes the buys at 0
    v = votes(buys=[0, 4, 8, 12], sells=[2, 6, 10])
    result = run(bars({3: 101.0, 7: 96.0}), v, LIVE)
    start = END - timedelta(minutes=30)  # 30 one-minute bars: bar 7 is 2026-01-04 23:37
    kwargs = {"strategy": "momo", "params": {"lookback": 10.0, "threshold": 0.0035}, "results": {"BTC/USDT": result},
              "start": start, "end": END, "now": NOW, "votes": {"BTC/USDT": v}, "source": "simulator (seed 7)"}
    path = report.backtest(tmp_path, **kwargs)
    page = path.read_text()
    assert path.name == "backtest-momo-20260106T093000.html"
    assert self_contained(page) and "data:image/png;base64," in page
    assert "<title>Backtest: momo on BTC/USDT</title>" in page
    assert "Window 2026-01-04 23:30 → 2026-01-05 00:00 UTC (0.5 hours) · bars from simulator (seed 7)" in page
    assert "BTC/USDT stopped trading: Sizing went to zero after 2026-01-04 23:37" in page
    # return: 10 000 + 10 - 40 = 9 970 -> -0.30 %; win rate 1 of 2 = 50 %; profit factor 10 / 40 = 0.25
    for row in ("<td>Total return</td><td>-0.30 %</td>", "<td>Win rate</td><td>50.00 %</td>",
                "<td>Profit factor</td><td>0.25</td>", "<td>Closed trades</td><td>2</td>",
                "<td>Fees paid</td><td>0.00 USDT</td>", "lookback = 10, threshold = 0.0035"):
        assert row in page
    again = report.backtest(tmp_path, **kwargs)
    assert again.name == "backtest-momo-20260106T093000-2.html" and path.read_text() == page


def test_the_optimisation_page_is_named_by_job_and_shows_the_verdict(tmp_path):
    n = 120
    outcome = Outcome(
        status="recommended", current={"lookback": 10.0}, recommended={"lookback": 24.0},
        current_report={"total_return_pct": 1.2345, "win_rate": 0.5, "trades": 12, "score": 0.8123},
        recommended_report={"total_return_pct": 2.5, "win_rate": 0.625, "trades": 16, "score": 1.25},
        note="walk-forward out-of-sample sharpe 1.250 vs current 0.812", trials=8, evaluations=48,
        folds=[{"fold": 0, "best": {"lookback": 24.0}, "is_score": 1.5, "oos_score": 1.25, "current_oos_score": 0.81}],
        landscape=[({"lookback": 10.0}, 0.8), ({"lookback": 24.0}, 1.5)],
        equity={"current": np.linspace(10_000, 10_100, n), "recommended": np.linspace(10_000, 10_250, n)})
    path = report.optimize(tmp_path, strategy="momo", outcome=outcome, start=END - timedelta(minutes=n), end=END,
                           now=NOW, job_id="job-1a2b", symbols=["BTC/USDT"])
    page = path.read_text()
    assert path.name == "optimize-momo-job-1a2b.html" and self_contained(page)
    assert "<title>Optimisation: momo — New parameters recommended</title>" in page
    assert "job job-1a2b" in page and "2026-01-04 22:00 → 2026-01-05 00:00 UTC (2 hours)" in page
    assert "<td>lookback</td><td>10</td><td>24</td>" in page
    assert "<td>Total return</td><td>1.23 %</td><td>2.50 %</td>" in page
    assert "<td>Win rate</td><td>50.00 %</td><td>62.50 %</td>" in page
    assert page.count("data:image/png;base64,") == 2  # equity + landscape
