"""`tradewinds data generate` writes the simulator's bars into the Parquet history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from infra.cli.data import app
from shared.config import load_market_config
from shared.history import ParquetBarHistory
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(60)


def test_generate_writes_the_seeded_market_and_is_idempotent(tmp_path):
    args = ["generate", "--days", "0.25", "--seed", "5", "--out", str(tmp_path),
            "--start", "2024-03-01T00:00:00"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "5400 bars" in first.output and "(5400 new)" in first.output

    start = datetime(2024, 3, 1, tzinfo=UTC)
    end = start + timedelta(hours=6)
    history = ParquetBarHistory(tmp_path)
    stored = history.read("bybit", "ETH/USDT", start, end)
    expected = [b for b in MarketSimulator(load_market_config(), 5, start).advance(end)
                if b.venue == "bybit" and b.symbol == "ETH/USDT"]
    assert stored == expected and len(stored) == 360
    assert history.last_time("kraken", "BTC/USDT") == end - timedelta(minutes=1)

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "(0 new)" in again.output


def test_generate_reports_a_bad_config(tmp_path):
    bad = tmp_path / "venues.yaml"
    bad.write_text("quote: USDT\nsymbols: []\n")
    result = CliRunner().invoke(app, ["generate", "--config", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "venues.yaml" in result.output
