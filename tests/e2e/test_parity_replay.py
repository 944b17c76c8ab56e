"""Replay = backtest: shipped strategies, each alone, replayed through the whole local pipeline
(signal -> risk -> executor on the paper exchange) and backtested on the very bars the replay
saw, trade for trade (shared/backtest/parity_run.py)."""

import shutil
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from infra.cli.parity import parity_command
from shared.backtest.parity import round_trips
from shared.backtest.parity_run import run_parity

STRATEGIES = ("momentum", "mean_reversion", "rsi")  # config/strategies/{momentum,mean_reversion,rsi}.yaml
SEEDS = (1, 2)
HOURS = 3.0
VENUES = ["binance", "kraken"]  # the cheapest and the dearest taker fee (7.5 and 26 bps)
TAKER_BPS = {"binance": 7.5, "kraken": 26.0}  # config/venues.yaml
pytestmark = pytest.mark.timeout(120)
# what may make the two paths differ, and only that (shared/backtest/parity.py)
LEGITIMATE = {"risk_denial", "fill", "sizing", "end_of_data", "ensemble_gate", "params", "window"}


@pytest.fixture(scope="module")
def parities(tmp_path_factory):
    out = {}
    for strategy in STRATEGIES:
        for seed in SEEDS:
            work = tmp_path_factory.mktemp(f"parity-{strategy}-{seed}")
            out[(strategy, seed)] = run_parity(strategy, HOURS, seed, Path("config"), workdir=work, venues=VENUES)
    return out


def explained_trip_by_trip(p) -> None:
    """Every difference is explained by a legitimate cause, and every round trip made on one
    side only carries one on its entry or its exit (or, for a position one side still holds,
    on the exit the other side made of the same entry)."""
    c = p.comparison
    assert c.agree, [d for d in c.differences if not d.explained]
    assert {d.cause for d in c.differences} <= LEGITIMATE
    differing = {(d.venue, d.symbol, d.bar_time, d.side) for d in c.differences}
    r_trips, b_trips = set(round_trips(p.replay.legs)), set(round_trips(p.backtest.legs))
    assert c.trades_matched == len(r_trips & b_trips)
    for entry, exit_ in r_trips ^ b_trips:
        exits = {x for e, x in r_trips | b_trips if e == entry}
        assert differing & ({entry, exit_} | exits), (entry, exit_)


def test_replay_and_backtest_agree_trade_for_trade(parities):
    for case, p in parities.items():
        explained_trip_by_trip(p)
        c = p.comparison
        # the shipped config on this market: nothing but amounts differs, every trip matches
        assert c.trades_matched == c.trades_replay == c.trades_backtest, (case, c.differences)


def test_both_paths_emit_the_same_signals_with_the_same_confidence(parities):
    for case, p in parities.items():
        replayed = {d.key: d.confidence for d in p.replay.decisions}
        backtested = {d.key: d.confidence for d in p.backtest.decisions}
        assert replayed.keys() == backtested.keys(), case
        # the signal step's consensus of one voter: confidence x weight / weight
        assert all(abs(replayed[k] - backtested[k]) < 1e-12 for k in replayed), case


def test_matched_legs_pay_the_venues_taker_fee_and_fill_within_a_few_bps(parities):
    for case, p in parities.items():
        for m in p.comparison.matched:
            fee = TAKER_BPS[m.replay.venue]
            assert abs(m.replay.fee_bps - fee) < 0.01 and abs(m.backtest.fee_bps - fee) < 1e-9, (case, m)
            # the replay takes the touch of the book standing at the next open; the backtest
            # prices that open plus half the venue's spread: a few bps of book noise apart
            assert abs(m.price_bps) < 10, (case, m)
            assert abs(m.size_pct) < 5, (case, m)  # base size 1000 USD on both sides, rounding apart


def test_the_figures_hold_real_trades(parities):
    figures = {case: (p.comparison.trades_matched, p.comparison.trades_backtest) for case, p in parities.items()}
    print("trades matched / backtest:", figures)
    assert sum(m for m, _ in figures.values()) >= 15, figures
    assert all(p.comparison.signals_replay > 0 for p in parities.values()), figures


def fast_momentum(into: Path) -> Path:
    """config/ copied with the momentum instances as fast as they once shipped (10-bar rate of
    change over 0.35 % / 0.25 %): a few signals an hour, so three hours show the cases below."""
    config = shutil.copytree("config", into / "config")
    path = config / "strategies" / "momentum.yaml"
    items = yaml.safe_load(path.read_text())
    for item, threshold in zip(items, (0.0035, 0.0025), strict=True):
        item["params"]["lookback"].update(value=10, safe_min=5, safe_max=30)
        item["params"]["threshold"]["value"] = threshold
    path.write_text(yaml.safe_dump(items, sort_keys=False))
    return config


def test_trades_the_risk_step_refuses_are_differences_with_the_audits_reason(tmp_path):
    # risk.yaml trading_window ends at 02:09 UTC: from 02:10 the risk step denies every signal
    # (closing ones too: the positions it opened stay open), the backtest knows no window
    config = fast_momentum(tmp_path)
    risk = yaml.safe_load((config / "risk.yaml").read_text())
    risk["limits"]["trading_window"] = {"start": "00:00", "end": "02:09"}
    (config / "risk.yaml").write_text(yaml.safe_dump(risk))
    p = run_parity("momentum", HOURS, 2, config, workdir=tmp_path / "work", venues=VENUES)
    explained_trip_by_trip(p)
    c = p.comparison
    # a signal of bar 02:09 is decided at 02:10, outside the window
    late = [d for d in c.differences if d.bar_time.hour * 60 + d.bar_time.minute >= 129]
    assert late and all(d.cause == "risk_denial" and d.only_in == "backtest" for d in late), c.differences
    assert all("trading_window: " in d.detail for d in late)
    assert all(d in late for d in c.differences)  # before the window closed, nothing differs
    assert c.matched and all(m.replay.side == "buy" for m in c.matched)  # entries made in the window...
    assert c.trades_matched == 0 < c.trades_backtest  # ...whose exits the risk step refused


def test_the_cli_command_prints_the_comparison_and_exits_0_when_they_agree():
    app = typer.Typer()
    app.command()(parity_command)
    result = CliRunner().invoke(app, ["breakout", "--hours", "1", "--seed", "2", "--config", "config"])
    assert result.exit_code == 0, result.output
    assert "Replay vs backtest: breakout, 1 h, seed 2" in result.output
    assert "AGREE. Trades: replay" in result.output
    bad = CliRunner().invoke(app, ["nope", "--hours", "0.1", "--config", "config"])
    assert bad.exit_code == 2 and "unknown strategy 'nope'" in bad.output


def test_an_exit_the_venue_could_not_fill_is_a_fill_difference_and_the_position_stays(tmp_path):
    # seed 2, coinbase ETH/BTC: the 02:28 SELL goes out as an IOC limit 10 bps under the close
    # (config/executor.yaml ioc_limit_bps) and coinbase's bids stand below it: cancelled.
    # The replay stays long; its 02:50 BUY adds to that position, the backtest's opens anew.
    p = run_parity("momentum_ethbtc", HOURS, 2, fast_momentum(tmp_path), workdir=tmp_path / "work",
                   venues=["coinbase"])
    explained_trip_by_trip(p)
    c = p.comparison
    assert [(d.bar_time.strftime("%H:%M"), d.side, d.what, d.only_in, d.cause) for d in c.differences] == [
        ("02:28", "sell", "leg", "backtest", "fill"), ("02:50", "buy", "position", "replay", "fill")]
    assert c.differences[0].detail == "execution cancelled: no liquidity within limit"
    assert [m.replay.bar_time.strftime("%H:%M") for m in c.matched] == ["01:29", "02:50"]
