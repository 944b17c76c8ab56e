"""The HTML reports in headless Chromium (Debian's `chromium` + `chromedriver`, selenium;
nothing downloaded), opened from their file:// URL as a user would:

- the backtest report of the momentum strategy over 30 simulated days (it stops trading
  part way: the page must say why);
- the run report (`runs/<id>/report.html`) of a 75-minute replay (seed 14) given a dead
  predictor (first asked after about an hour of warm-up: the page must say the LSTM was off).

Each page must load with no request outside the file (charts are data URIs), draw its charts,
and log no browser error. Full-page screenshots go to reports/ (docs/report.png, in the
README, is a copy of reports/run-report.png made by hand, not by the test).

Skipped locally without /usr/bin/chromium; under CI=true a missing browser fails.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser import chrome

chrome.require()

from selenium.webdriver.common.by import By

from infra.local import run_report
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.backtest import report, run
from shared.clock import SimulatedClock
from shared.handlers import optimizer
from shared.handlers.optimizer import _symbols, backtest_config
from shared.optimize.data import window_bars
from shared.strategies.registry import get_plugin

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports"
END = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def driver():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chrome.browser(10) as browser:
        yield browser


def open_and_shoot(browser, page: Path, shot: str) -> str:
    """Load the page from file://, check it is whole and self-contained, save a full-page
    screenshot to reports/<shot>.png; returns the page's text."""
    browser.get(page.resolve().as_uri())
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [r for r in resources if not r.startswith(("data:", "file:"))] == []  # nothing fetched
    images = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert images and all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 600",
                                                 img) for img in images)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 120, 4000))
    browser.save_screenshot(str(SHOTS / f"{shot}.png"))
    browser.set_window_size(1280, 900)
    return browser.find_element(By.TAG_NAME, "body").text


def test_the_backtest_report_shows_dates_the_window_and_why_trading_stopped(driver, tmp_path):
    deps = optimizer.build_deps(store=None, clock=SimulatedClock(END), config_dir=str(ROOT / "config"))
    spec = deps.spec("momentum")
    symbols = _symbols(spec, deps)
    start = END - timedelta(days=30)
    bars, source = window_bars(history=None, market=deps.market, venue=deps.config.venue, symbols=symbols,
                               start=start, end=END, cfg=deps.config.history)
    plugin = get_plugin(spec.plugin)
    votes = {s: plugin.votes(b, spec.values()) for s, b in zip(symbols, bars)}
    results = {s: run(b, votes[s], backtest_config(s, deps)) for s, b in zip(symbols, bars)}
    page = report.backtest(tmp_path, strategy="momentum", params=spec.values(), results=results, start=start,
                           end=END, now=END, votes=votes, source=source)
    text = open_and_shoot(driver, page, "backtest-report")
    assert driver.title == f"Backtest: momentum on {', '.join(symbols)}"
    assert "Window 2025-12-06 00:00 → 2026-01-05 00:00 UTC (30 days)" in text
    assert "stopped trading: Sizing went to zero after 2025-12-" in text  # the flat line explained
    assert "Win rate" in text and "Time in the market" in text


def test_the_run_report_shows_equity_against_buy_and_hold_and_the_attribution(driver, tmp_path):
    with socket.socket() as s:  # a predictor nobody answers
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    pipeline = LocalPipeline(RunConfig(hours=1.25, seed=14, runs_dir=tmp_path, run_id="seed14",
                                       config_dir=ROOT / "config", predictor=dead))
    pipeline.run()
    page = run_report.write(pipeline.store, pipeline.cfg.run_dir)
    assert page == tmp_path / "seed14" / "report.html"
    text = open_and_shoot(driver, page, "run-report")
    assert driver.title == "Run seed14"
    assert "buy and hold" in text and "Where the PnL came from (USDT)" in text
    assert "LSTM: off — predictor unreachable since" in text
    assert "total PnL, net of every cost" in text
    # each voter's state and why: 1.25 h is too short for 10 closed paper trades of any of them
    assert "Strategies" in text and "warming up" in text and "of 10 scored paper trades" in text
