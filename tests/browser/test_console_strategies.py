"""The console's Strategies panel in headless Chromium (the helpers and the driver of
tests/browser/test_console.py): each configured strategy's state from GET
/v1/console/strategies: live (trades with its weight), standing aside or warming up (votes on
paper only), why in numbers, its params version. Screenshot: reports/console/strategies.png.

The states are recorded by the gate's own `record` (shared/signals/standing.py) from scored
paper trades stated by hand, with the project's config/signals.yaml (a voter is judged from
10 paper trades; no Kelly figure below risk.yaml's 20). Skipped as test_console.py is.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from tests.browser import chrome
from tests.browser import test_console as ui

if True:  # after the browser check of test_console (it skips or fails the module first)
    from selenium.webdriver.common.by import By

    from infra.cli.console import build_console_app
    from shared.adapters.local.secrets import EnvFileSecrets
    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.clock import SimulatedClock
    from shared.signals import standing
    from tests.conftest import T0

pytestmark = pytest.mark.timeout(30)
CONFIG = ui.ROOT / "config"
driver = ui.driver  # the same module-scoped headless Chromium fixture


def record(store, voter: str, trades: list[tuple[float, float]], at, version: int = 0) -> None:
    """Scored paper trades [(gross_bps, fee_bps)] of `voter`, through the gate's own record."""
    cfg = standing.load_standing_config(CONFIG)
    outcomes = [[g - f, g, f, at.isoformat(), version] for g, f in trades]
    with store.transaction() as tx:
        standing.record(tx, standing.load(tx, voter), outcomes, version, at, cfg)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = SqliteStore(tmp_path_factory.mktemp("strategies") / "state.sqlite")
    # momentum: gross 30, 16 bps five times each, fee 20 → net +10, -4; mean (10 - 4) / 2 = +3.00 bps: live
    record(store, "momentum", [(30, 20), (16, 20)] * 5, T0, version=2)
    # rsi: gross 10, 20 bps five times each → net -10, 0; mean -5.00 bps: standing aside
    record(store, "rsi", [(10, 20), (20, 20)] * 5, T0 + timedelta(minutes=30))
    # breakout: 4 of the 10 paper trades it needs: warming up
    record(store, "breakout", [(40, 20)] * 4, T0 + timedelta(minutes=45))
    secrets = EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": ui.ADMIN, "TW_SECRET_READ_TOKEN": ui.READ},
                             secrets_dir="/nonexistent")
    before = os.environ.get("TW_CONFIG_DIR")
    os.environ["TW_CONFIG_DIR"] = str(CONFIG)  # the configured strategies and the gate, wherever pytest runs
    try:
        app = build_console_app(store, secrets, SimulatedClock(T0 + timedelta(hours=1)), read_only=True)
    finally:
        if before is None:
            os.environ.pop("TW_CONFIG_DIR")
        else:
            os.environ["TW_CONFIG_DIR"] = before
    with chrome.served(app) as url:
        yield url
    store.close()


def rows(browser) -> dict[str, dict[str, str]]:
    """The panel's table: {strategy: {column label: cell text}}."""
    return browser.execute_script("""
        const out = {};
        for (const tr of document.querySelectorAll('#strategies tbody tr')) {
          const cells = {};
          for (const td of tr.querySelectorAll('td')) cells[td.dataset.label] = td.innerText;
          out[cells.strategy] = cells;
        }
        return out;""")


def test_the_strategies_panel_shows_each_state_and_why(server, driver):
    ui.sign_in(driver, server, ui.READ)
    ui.signed_in(driver)
    ui.tab(driver, "strategies", "#strategies table")
    table = ui.wait(driver, lambda d: rows(d) if len(rows(d)) >= 6 else None, "a row per strategy")
    # config/strategies' six enabled instances, by name
    assert sorted(table) == ["breakout", "breakout_ethbtc", "mean_reversion", "momentum", "momentum_ethbtc", "rsi"]
    m = table["momentum"]
    assert (m["state"], m["trades"], m["paper trades"], m["params"]) == ("live", "with its weight", "10", "v2")
    assert m["why"] == ("expectancy after fees +3.00 bps > 0 over the last 10 paper trades: "
                        "gross +23.00 bps - round-trip fee 20.00 bps = +3.00 bps per trade")  # (30 + 16) / 2 = 23
    assert m["since"] == "2026-01-05 00:00:00 UTC"  # T0
    r = table["rsi"]
    assert (r["state"], r["trades"]) == ("standing aside", "on paper only")
    assert r["why"].startswith("expectancy after fees -5.00 bps <= 0 over the last 10 paper trades: "
                               "gross +15.00 bps")  # (10 + 20) / 2 = 15
    b = table["breakout"]
    assert (b["state"], b["trades"], b["paper trades"]) == ("warming up", "on paper only", "4")
    assert b["why"] == "4 of 10 scored paper trades: votes on paper until then"
    never = table["mean_reversion"]  # configured, no paper trade closed yet
    assert (never["state"], never["paper trades"], never["since"]) == ("warming up", "0", "–")
    colours = driver.execute_script(
        "return [...document.querySelectorAll('#strategies tbody td[data-label=state] span')].map((s) => s.className)")
    assert {"state-ok", "state-bad", "state-warn"} <= set(colours)
    assert ui.text(driver, "#gate").startswith("gate on: only a live strategy trades with its weight")
    assert driver.find_elements(By.CSS_SELECTOR, "#view-strategies .error") == []
    ui.shot(driver, "strategies")
    assert (ui.SHOTS / "strategies.png").stat().st_size > 10_000
    assert ui.csp_violations(driver) == []
