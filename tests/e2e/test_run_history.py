"""`run --data`: stored 1-minute history replayed through the whole pipeline, books modelled
from the bars (shared/market/history_market.py), instead of the simulator.

The real candles are tests/data's three days of an altcoin quoted in BTC (UNITTEST/BTC on
Binance, November 2017). The configuration is the project's own with that market: the
ETH/BTC strategy instances (breakout_ethbtc, momentum_ethbtc, mean_reversion, rsi) trade
the alt/BTC cross instead, on binance only; BTC's USDT mark is a reference symbol (a seeded
walk from 7000, the price of the time: the file holds no BTC/USDT).
"""

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli.app import app
from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.config.venues import load_market_config
from shared.contracts import Bar
from shared.errors import ConfigError, ExchangeUnavailable
from shared.history import ParquetBarHistory
from shared.history.importer import read_candles
from shared.market.history_market import HistoryMarket

ROOT = Path(__file__).parents[2]
REAL = ROOT / "tests" / "data" / "alt_btc_1m_2017-11-05_07.csv"
T0 = datetime(2017, 11, 5, tzinfo=UTC)


def alt_config(dst: Path) -> Path:
    shutil.copytree(ROOT / "config", dst)
    v = yaml.safe_load((dst / "venues.yaml").read_text())
    v["assets"] = {"BTC": v["assets"]["BTC"], "UNITTEST": {**v["assets"]["ETH"], "initial_price": 11}}
    v["instruments"] = {"UNITTEST/BTC": {"tick_size": "0.00000001", "lot_size": "1", "top_size": 2000,
                                        "base_volume_per_min": 150}}
    v.update(symbols=["UNITTEST/BTC"], triangles=[], venues=[x for x in v["venues"] if x["name"] == "binance"],
             reference_symbols=[{"symbol": "BTC/USDT", "venue": "binance", "start_price": "7000",
                                 "daily_vol_pct": 3.0, "tick_size": "0.01"}])
    (dst / "venues.yaml").write_text(yaml.safe_dump(v))
    r = yaml.safe_load((dst / "risk.yaml").read_text())
    r["portfolio"]["start_balances"] = {"USDT": "20000", "BTC": "1"}
    (dst / "risk.yaml").write_text(yaml.safe_dump(r))
    # the ensemble's gate off: this is a test of the history replay, not of the gate (with it
    # the strategies may vote on paper for the whole window: tests/unit/test_standing_aside.py)
    g = yaml.safe_load((dst / "signals.yaml").read_text())
    g["standing_aside"]["enabled"] = False
    (dst / "signals.yaml").write_text(yaml.safe_dump(g))
    for f in (dst / "strategies").glob("*.yaml"):  # the ETH/BTC instances, on the alt/BTC cross
        specs = yaml.safe_load(f.read_text())
        specs = specs if isinstance(specs, list) else [specs]
        f.write_text(yaml.safe_dump([{**s, "symbols": ["UNITTEST/BTC"]} for s in specs if "ETH/BTC" in s["symbols"]]))
    return dst


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("history")
    ParquetBarHistory(root).write(read_candles(REAL, "binance", "UNITTEST/BTC").bars)
    return root


@pytest.fixture(scope="module")
def replay(imported, tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    cfg = RunConfig(hours=16, config_dir=alt_config(base / "config"), runs_dir=base, run_id="real", data=imported)
    pipeline = LocalPipeline(cfg)
    pipeline.run()
    return pipeline, run_summary.build(pipeline)


def test_real_candles_trade_and_balance(replay):
    _, s = replay
    assert s["start"] == "2017-11-05T00:00:00+00:00"  # the history's first bar, not the simulator's date
    assert s["end"].startswith("2017-11-05T16:")       # 16 hours on (+ the bounded flush)
    # 724 stored bars open in 00:00-15:59 (the file has gaps) + 960 minutes of the BTC/USDT mark
    assert s["bars_processed"] == 724 + 960
    assert s["fills"] > 0 and s["orders_approved"] > 0
    assert s["balances_consistent"] and s["ledger_consistent"] and s["dlq_count"] == 0
    assert s["symbols"] == ["UNITTEST/BTC"] and s["venues"] == ["binance"]


def test_fills_are_at_the_book_modelled_around_the_bar_close(replay):
    pipeline, _ = replay
    fills = sorted((d for _, d in pipeline.store.query("executions") if Decimal(d["filled_quantity"]) > 0),
                   key=lambda d: d["executed_at"])
    history = ParquetBarHistory(pipeline.cfg.data)
    assert fills
    for fill in fills[:3]:
        at = datetime.fromisoformat(fill["executed_at"])
        [bar] = [b for b in history.read("binance", "UNITTEST/BTC", T0, at) if b.open_time + timedelta(minutes=1) <= at][-1:]
        # binance spread 1.0 bps: the touch is the close -/+ 0.5 bps, out to the 1e-8 tick; the order
        # (~1000 USDT, ~80 units) is inside the touch's 2000 x 2.0 units: one price. E.g. a buy at
        # 14:54 after the 14:53 bar closed at 0.00175573: 0.00175573 x 1.00005 = 0.0017558177...
        # -> 0.00175582; a sell after a close of 0.00174157: x 0.99995 = 0.0017414829... -> 0.00174148
        tick, half = Decimal("0.00000001"), Decimal("0.00005")
        if fill["side"] == "buy":
            expected = (bar.close * (1 + half) / tick).to_integral_value(rounding="ROUND_CEILING") * tick
        else:
            expected = (bar.close * (1 - half) / tick).to_integral_value(rounding="ROUND_FLOOR") * tick
        assert Decimal(fill["price"]) == expected


def test_books_from_a_bar_by_hand(tmp_path):
    market = load_market_config(ROOT / "config" / "venues.yaml")
    ParquetBarHistory(tmp_path).write([Bar(venue="binance", symbol="BTC/USDT", open_time=T0, open=100, high=101,
                                           low=99, close=Decimal("100.00"), volume=5)])
    sim = HistoryMarket(market, tmp_path, T0, hours=1)
    with pytest.raises(ExchangeUnavailable):
        sim.top("binance", "BTC/USDT")  # no bar has closed yet
    assert [b.close for b in sim.advance(T0 + timedelta(minutes=1))] == [Decimal("100.00")]
    top = sim.top("binance", "BTC/USDT")
    # 100.00 x (1 -/+ 0.00005) = 99.995 / 100.005 -> floor / ceil to the 0.01 tick
    assert (top.bid, top.ask) == (Decimal("99.99"), Decimal("100.01"))
    assert top.bid_size == top.ask_size == Decimal("2.40000")  # top_size 1.2 x binance top_size_scale 2.0
    book = sim.book("binance", "BTC/USDT")
    assert len(book.bids) == len(book.asks) == 25 and book.top() == top
    # the only pair with history: the others are left out and named
    assert sim.pairs == [("binance", "BTC/USDT")] and sim.config.symbols == ["BTC/USDT"]
    assert ("okx", "ETH/USDT") in sim.dropped and "left out" in sim.note
    assert sim.advance(T0 + timedelta(minutes=5)) == [] and sim.top("binance", "BTC/USDT") == top


def test_missing_empty_or_five_minute_history_is_a_clear_error(tmp_path, imported):
    def start(data, **kw):
        return LocalPipeline(RunConfig(hours=1, runs_dir=tmp_path / "runs", data=data, **kw))

    with pytest.raises(ConfigError, match="no such directory"):
        start(tmp_path / "does-not-exist")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no bar history"):
        start(tmp_path / "empty")
    with pytest.raises(ConfigError, match=r"no history of the configured symbols .*UNITTEST/BTC 1m"):
        start(imported)  # the default configuration trades none of what it holds
    five = tmp_path / "five"
    ParquetBarHistory(five).write([Bar(venue="binance", symbol="BTC/USDT", timeframe="5m", open_time=T0,
                                       open=1, high=1, low=1, close=1, volume=1)])
    with pytest.raises(ConfigError, match="replays 1-minute bars; .* only binance BTC/USDT 5m"):
        start(five)


def test_a_crash_cannot_be_planted_in_history(tmp_path):
    ParquetBarHistory(tmp_path / "h").write([Bar(venue="binance", symbol="BTC/USDT", open_time=T0, open=1,
                                                 high=1, low=1, close=1, volume=1)])
    with pytest.raises(ValueError, match="cannot be planted"):
        LocalPipeline(RunConfig(hours=1, runs_dir=tmp_path / "runs", data=tmp_path / "h", crash=("BTC", 0.5, 0.1)))


def _run_has_data_option() -> bool:
    import inspect

    from infra.cli.app import run

    return "data" in inspect.signature(run).parameters


@pytest.mark.skipif(not _run_has_data_option(), reason="infra/cli/app.py `run --data` not wired yet")
def test_cli_run_data(tmp_path, imported):
    runner = CliRunner()
    bad = runner.invoke(app, ["run", "--hours", "1", "--data", str(tmp_path / "nope"), "--runs-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "no such directory" in bad.output and "Traceback" not in bad.output
    ok = runner.invoke(app, ["run", "--hours", "3", "--data", str(imported), "--config",
                             str(alt_config(tmp_path / "config")), "--runs-dir", str(tmp_path / "runs")])
    assert ok.exit_code == 0, ok.output
    assert "bars processed" in ok.output
