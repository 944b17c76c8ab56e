"""The replay scans the arbitrage at every simulator book update inside the minute, as the
executor does in production, without changing the market: the same bars, minute by minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.local.pipeline import DEFAULT_START, LocalPipeline, RunConfig, market_for
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(60)


class Recording(LocalPipeline):
    """The pipeline, keeping every bar it publishes."""

    def publish_bar(self, bar) -> None:
        self.bars = [*getattr(self, "bars", []), bar]
        super().publish_bar(bar)


def test_stepping_the_simulator_every_update_gives_the_same_bars():
    market = market_for(RunConfig())
    by_minute, by_update = (MarketSimulator(market, seed=7, start=DEFAULT_START) for _ in range(2))
    minute_bars = [b for m in range(1, 31) for b in by_minute.advance(DEFAULT_START + timedelta(minutes=m))]
    update_bars = [b for s in range(1, 30 * 12 + 1) for b in by_update.advance(DEFAULT_START + timedelta(seconds=5 * s))]
    assert minute_bars == update_bars and len(minute_bars) == 30 * 15  # 5 venues x 3 symbols


def test_the_replay_trades_inside_the_minute_and_publishes_the_same_bars(tmp_path):
    runs = [Recording(RunConfig(hours=20 / 60, seed=7, runs_dir=tmp_path, run_id=f"arb-{on}", arbitrage=on))
            for on in (True, False)]
    for run in runs:
        run.run()
    with_arb, without = runs
    assert [b.key for b in with_arb.bars] == [b.key for b in without.bars]
    assert [(b.open, b.close, b.volume) for b in with_arb.bars] == [(b.open, b.close, b.volume) for b in without.bars]
    # seed 7: one opportunity at the 00:11 minute scan, then edges at 00:17:20 and 00:17:25,
    # between two minute scans (a once-a-minute scanner saw neither): all taken
    detected = sorted({d["detected_at"] for _, d in with_arb.store.query("arbitrage")})
    assert detected == ["2026-01-05T00:11:00+00:00", "2026-01-05T00:17:20+00:00", "2026-01-05T00:17:25+00:00"]
    booked = {d["executed_at"] for _, d in with_arb.store.query("executions") if d["source"] == "arbitrage"}
    assert booked == set(detected)  # booked at the update, not at the next minute
