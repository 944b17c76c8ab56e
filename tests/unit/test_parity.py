"""Replay = backtest, the fast pieces: aligning hand-made trade lists and naming each
difference's cause (shared/backtest/parity.py), and the CLI's verdict (infra/cli/parity.py)."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from infra.cli.parity import render
from shared.backtest import BacktestConfig, Slippage, run
from shared.backtest.parity import Account, Decision, Leg, Refusal, Rules, compare, round_trips
from shared.backtest.parity_run import Parity, _legs, isolated_config
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.config import load_strategies

V, S = "binance", "BTC/USDT"
RULES = Rules(fee_bps={"binance": 7.5, "kraken": 26.0}, threshold=0.60,
              last_bar={(V, S): datetime(2026, 1, 5, 2, 59, tzinfo=UTC)})


def at(minute: int) -> datetime:
    return datetime(2026, 1, 5, minute // 60, minute % 60, tzinfo=UTC)


def sig(minute: int, side: str, conf: float = 0.8, venue: str = V) -> Decision:
    return Decision(venue, S, at(minute), side, conf)


def leg(minute: int, side: str, qty: float, price: float, fee: float, venue: str = V, status: str = "filled") -> Leg:
    return Leg(venue, S, at(minute), side, qty, price, fee, status)


# One round trip on binance (taker 7.5 bps), 0.02 BTC:
#   backtest: buy @ 50000 (notional 1000, fee 1000 x 0.00075 = 0.75),
#             sell @ 50500 (notional 1010, fee 1010 x 0.00075 = 0.7575)
#   replay:   buy @ 50005 (+1 bps: 5 / 50000 = 0.0001; fee 1000.1 x 0.00075 = 0.750075),
#             sell @ 50494.95 (-1 bps: -5.05 / 50500; fee 1009.899 x 0.00075 = 0.75742425)
BT_LEGS = (leg(10, "buy", 0.02, 50000.0, 0.75), leg(20, "sell", 0.02, 50500.0, 0.7575))
R_LEGS = (leg(10, "buy", 0.02, 50005.0, 0.750075), leg(20, "sell", 0.02, 50494.95, 0.75742425))
SIGNALS = (sig(10, "buy"), sig(20, "sell"))


def test_the_same_legs_bar_for_bar_agree_with_their_price_gap_in_bps():
    c = compare(Account(SIGNALS, R_LEGS), Account(SIGNALS, BT_LEGS), RULES)
    assert c.agree and c.differences == ()
    assert (c.trades_replay, c.trades_backtest, c.trades_matched) == (1, 1, 1)
    assert [round(m.price_bps, 6) for m in c.matched] == [1.0, -1.0]
    # size: 0.02 x 50005 / (0.02 x 50000) - 1 = +0.01 %, under the 1 % listed
    assert round(c.matched[0].size_pct, 6) == 0.01


def test_a_risk_denied_entry_and_its_exit_carry_the_audits_reasons():
    refusals = (Refusal(V, S, at(10), "buy", "risk_denial", ("max_position_usd: 10500.00 > 10000",)),
                Refusal(V, S, at(20), "sell", "risk_denial", ("nothing_to_sell: no long position",)))
    c = compare(Account(SIGNALS, (), refusals), Account(SIGNALS, BT_LEGS), RULES)
    assert (c.trades_replay, c.trades_backtest, c.trades_matched) == (0, 1, 0)
    assert [(d.bar_time, d.side, d.only_in, d.cause, d.explained) for d in c.differences] == [
        (at(10), "buy", "backtest", "risk_denial", True), (at(20), "sell", "backtest", "risk_denial", True)]
    assert c.differences[0].detail == "max_position_usd: 10500.00 > 10000"
    assert c.agree


def test_a_signal_on_one_side_only_is_unexplained_unless_it_ties_the_threshold():
    extra = sig(40, "buy", conf=0.7)
    c = compare(Account(SIGNALS, R_LEGS), Account((*SIGNALS, extra), BT_LEGS), RULES)
    assert [(d.what, d.only_in, d.cause, d.explained) for d in c.differences] == [
        ("signal", "backtest", "signal", False)]
    assert not c.agree
    tie = sig(40, "buy", conf=0.6 + 1e-9)  # the consensus's own float noise at the boundary
    c = compare(Account((*SIGNALS, tie), R_LEGS), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.only_in, d.cause, d.explained) for d in c.differences] == [("replay", "ensemble_gate", True)]


def test_after_the_parameters_changed_a_different_signal_is_explained():
    rules = Rules(fee_bps=RULES.fee_bps, params_changed=at(30))
    c = compare(Account((*SIGNALS, sig(40, "buy")), R_LEGS), Account(SIGNALS, BT_LEGS), rules)
    assert [(d.cause, d.explained) for d in c.differences] == [("params", True)]
    c = compare(Account((*SIGNALS, sig(25, "buy")), R_LEGS), Account(SIGNALS, BT_LEGS), rules)
    assert [(d.cause, d.explained) for d in c.differences] == [("signal", False)]


def test_a_fee_rate_other_than_the_venues_taker_fee_is_unexplained():
    # replay buy: 0.02 x 50005 = 1000.1 notional, fee 1.0001 = 10 bps; binance's taker is 7.5 bps
    r_legs = (leg(10, "buy", 0.02, 50005.0, 1.0001), R_LEGS[1])
    c = compare(Account(SIGNALS, r_legs), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.what, d.cause, d.explained) for d in c.differences] == [("fee", "fee", False)]
    assert "replay paid 10.000 bps" in c.differences[0].detail
    assert c.trades_matched == 1  # the legs still match: the fee is what differs


def test_fill_price_gaps_beyond_the_tolerance_are_unexplained():
    # replay buy @ 50200: 200 / 50000 = +40 bps > 30 bps
    r_legs = (leg(10, "buy", 0.02, 50200.0, 0.02 * 50200.0 * 0.00075), R_LEGS[1])
    c = compare(Account(SIGNALS, r_legs), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.what, d.cause, d.explained) for d in c.differences] == [("fill_price", "fill_price", False)]
    assert c.differences[0].detail.startswith("+40.0 bps")


def test_a_portfolio_sized_entry_is_a_sizing_difference_and_its_exit_follows():
    # replay: the drawdown clip halves the base size: 0.01 x 50000 = 500 vs 1000 -> -50 %;
    # exit 0.01 x 50500 = 505 vs 1010 -> -50 % (fees 500 x 0.00075 = 0.375, 505 x 0.00075 = 0.37875)
    r_legs = (leg(10, "buy", 0.01, 50000.0, 0.375), leg(20, "sell", 0.01, 50500.0, 0.37875))
    c = compare(Account(SIGNALS, r_legs), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.side, d.what, d.cause, d.explained) for d in c.differences] == [
        ("buy", "size", "sizing", True), ("sell", "size", "sizing", True)]
    assert c.differences[0].detail == "notional 500 vs 1000 (-50.00 %): the risk step sizes on the portfolio (NAV, Kelly, drawdown, USD marks now)"
    assert c.trades_matched == 1 and c.agree


def test_a_partial_fill_is_named_in_the_size_difference():
    r_legs = (leg(10, "buy", 0.015, 50005.0, 0.56255625, status="partially_filled"), R_LEGS[1])
    c = compare(Account(SIGNALS, r_legs), Account(SIGNALS, BT_LEGS), RULES)
    assert "partial fill (partially_filled)" in c.differences[0].detail


def test_an_entry_the_backtest_sized_at_zero_explains_the_replays_round_trip():
    c = compare(Account(SIGNALS, R_LEGS), Account(SIGNALS, ()), RULES)
    assert [(d.side, d.only_in, d.cause, d.explained) for d in c.differences] == [
        ("buy", "replay", "sizing", True), ("sell", "replay", "sizing", True)]
    assert c.differences[1].detail == "closes a position opened on one side only (sizing)"


def test_a_signal_on_the_last_bar_fills_only_in_the_replay():
    last = (sig(179, "buy"),)  # 02:59, the last bar: the backtest has no next open
    c = compare(Account((*SIGNALS, *last), (*R_LEGS, leg(179, "buy", 0.02, 50100.0, 0.7515))),
                Account((*SIGNALS, *last), BT_LEGS), RULES)
    assert [(d.bar_time, d.cause, d.explained) for d in c.differences] == [(at(179), "end_of_data", True)]
    assert (c.trades_replay, c.trades_backtest, c.trades_matched) == (2, 1, 1)


def test_an_order_the_venue_did_not_fill_is_a_fill_difference():
    refusals = (Refusal(V, S, at(10), "buy", "fill", ("cancelled: no liquidity within limit",)),
                Refusal(V, S, at(20), "sell", "risk_denial", ("nothing_to_sell: no long position",)))
    c = compare(Account(SIGNALS, (), refusals), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.cause, d.explained) for d in c.differences] == [("fill", True), ("risk_denial", True)]


def test_a_buy_on_top_of_a_position_whose_exit_was_not_filled_is_a_position_difference():
    # the replay's exit at 00:20 found no liquidity within its IOC limit: still long at 00:30,
    # its BUY there adds to the position; the backtest was flat and opens a new one
    refusals = (Refusal(V, S, at(20), "sell", "fill", ("execution cancelled: no liquidity within limit",)),)
    buy = leg(30, "buy", 0.02, 50000.0, 0.75)
    signals = (*SIGNALS, sig(30, "buy"))
    c = compare(Account(signals, (R_LEGS[0], buy), refusals), Account(signals, (*BT_LEGS, buy)), RULES)
    assert [(d.bar_time, d.what, d.only_in, d.cause, d.explained) for d in c.differences] == [
        (at(20), "leg", "backtest", "fill", True), (at(30), "position", "replay", "fill", True)]
    assert c.differences[1].detail == "the replay adds to a position still open (its exit of 00:20 was not filled: fill)"
    assert (c.trades_replay, c.trades_backtest, c.trades_matched) == (1, 2, 0)
    # with no missed exit to blame, the same pyramid is unexplained
    c = compare(Account(signals, (R_LEGS[0], buy)), Account(signals, (R_LEGS[0], buy)), RULES)
    assert [(d.what, d.cause, d.explained) for d in c.differences] == [("position", "unexplained", False)]


def test_a_leg_filled_on_one_side_for_no_known_reason_is_unexplained():
    c = compare(Account(SIGNALS, R_LEGS[:1]), Account(SIGNALS, BT_LEGS), RULES)
    assert [(d.side, d.only_in, d.cause, d.explained) for d in c.differences] == [
        ("sell", "backtest", "unexplained", False)]


def test_round_trips_pair_a_buy_with_the_next_sell_per_series_and_keep_the_open_one():
    legs = (*BT_LEGS, leg(30, "buy", 0.02, 1.0, 0.0), leg(15, "buy", 0.02, 1.0, 0.0, venue="kraken"),
            leg(25, "sell", 0.02, 1.0, 0.0, venue="kraken"), leg(35, "sell", 0.02, 1.0, 0.0, venue="kraken"))
    assert [(e[0], e[2], x[2] if x else None) for e, x in round_trips(legs)] == [
        (V, at(10), at(20)), (V, at(30), None), ("kraken", at(15), at(25))]  # a sell when flat pairs nothing


def test_render_exits_1_on_an_unexplained_difference_and_0_when_all_agree(tmp_path):
    replay, backtest = Account(SIGNALS, R_LEGS), Account(SIGNALS, BT_LEGS)
    agreeing = Parity("momentum", 1.0, 3, compare(replay, backtest, RULES), 1, tmp_path, replay, backtest)
    console = Console(record=True, width=250)
    assert render(agreeing, console) == 0
    assert "AGREE. Trades: replay 1, backtest 1, matched 1." in console.export_text()
    replay = Account(SIGNALS, R_LEGS[:1])
    broken = Parity("momentum", 1.0, 3, compare(replay, backtest, RULES), 1, tmp_path, replay, backtest)
    console = Console(record=True, width=250)
    assert render(broken, console) == 1
    text = console.export_text()
    assert "DISAGREE: 1 unexplained difference(s)" in text and "[UNEXPLAINED]" in text
    assert "0.02 @ 50500" in text  # the backtest's exit the replay did not make, with its amounts


def test_the_isolated_config_enables_one_strategy_and_turns_the_gates_off(tmp_path):
    src = shutil.copytree("config", tmp_path / "src")
    rsi = yaml.safe_load((src / "strategies" / "rsi.yaml").read_text())
    (src / "strategies" / "rsi.yaml").write_text(yaml.safe_dump({**rsi, "regimes": ["range"]}))
    out = isolated_config(src, "rsi", tmp_path / "cfg")
    assert [s.name for s in load_strategies(out / "strategies") if s.enabled] == ["rsi"]
    assert "regimes" not in yaml.safe_load((out / "strategies" / "rsi.yaml").read_text())
    assert yaml.safe_load((out / "signals.yaml").read_text())["standing_aside"]["enabled"] is False
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        isolated_config(Path("config"), "nope", tmp_path / "other")


def test_the_backtests_open_position_is_an_entry_leg_at_its_fill_price():
    # a BUY vote on bar 0 fills at bar 1's open (100), all in, fee 10 bps, no slippage:
    # notional = 1000 / 1.001 = 999.000999..., quantity 9.99000999..., fee 0.999000999...;
    # no SELL: the position is still open at the end and its entry is read back from equity
    bars = BarArrays.from_close([100.0, 100.0, 110.0, 120.0])
    votes = VoteSeries(np.array([1, 0, 0, 0]), np.array([0.9, 0.0, 0.0, 0.0]))
    cfg = BacktestConfig(initial_cash=1000.0, fee_bps=10.0, slippage=Slippage.none())
    times = [at(m) for m in range(4)]
    [entry] = _legs(run(bars, votes, cfg), bars.close, V, S, times)
    assert (entry.bar_time, entry.side) == (at(0), "buy")  # keyed by the signal bar, not the fill bar
    assert entry.price == pytest.approx(100.0, rel=1e-12)
    assert entry.quantity == pytest.approx(1000 / 1.001 / 100, rel=1e-12)
    assert entry.fee == pytest.approx(1000 / 1.001 * 0.001, rel=1e-12)
