"""Bias checks (shared/research/bias.py): a planted look-ahead and a planted warm-up-sensitive
strategy are caught with the bar and both values, every shipped strategy passes both checks,
the optimizer refuses a cheat with the reason, and `check lookahead|recursive` exit codes."""

import re
import shutil
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from infra.cli import failures
from infra.cli.check import app as check_app
from shared.backtest import BacktestConfig
from shared.optimize.job import run_job
from shared.optimize.space import Space
from shared.research.bias import lookahead, recursive
from shared.strategies import PLUGINS, load_strategies
from shared.strategies.base import BarArrays, VoteSeries, ramp
from shared.strategies.indicators import linear_filter
from tests.backtest_fixtures import LookAhead, random_bars, wave_bars
from tests.optimizer_fixtures import momentum_spec, small_config

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
REAL = ROOT / "tests" / "data" / "alt_btc_1m_2017-11-05_07.csv"


class SeededEma:
    """Warm-up sensitive on purpose: an EMA (alpha 1/100, a memory of ~100 bars) seeded with
    the first close of whatever window it is given, while claiming a warm-up of 20 bars.
    Buys 0.1 % above it, sells 0.1 % below; `indicators` exposes the EMA."""

    name = "seeded_ema"
    defaults = MappingProxyType({"lookback": 20.0, "threshold": 0.001})
    alpha = 0.01

    def warmup(self, params):
        return 20

    def check(self, params):
        return []

    def indicators(self, bars, params):
        return {"ema": linear_filter(bars.close, self.alpha, 0, float(bars.close[0]))}

    def votes(self, bars, params) -> VoteSeries:
        x = bars.close / self.indicators(bars, params)["ema"] - 1
        return VoteSeries.from_conditions(x > 0.001, x < -0.001, ramp(np.abs(x) - 0.001, 0.001), warmup=20)


class SeededEmaVotesOnly(SeededEma):
    """The same without the indicators hook: only its votes can give it away."""

    name = "seeded_ema_votes"
    alpha = 0.002  # a memory of ~500 bars

    def votes(self, bars, params) -> VoteSeries:
        x = bars.close / linear_filter(bars.close, self.alpha, 0, float(bars.close[0])) - 1
        return VoteSeries.from_conditions(x > 0.001, x < -0.001, ramp(np.abs(x) - 0.001, 0.001), warmup=20)

    indicators = None  # type: ignore[assignment]


def real_bars() -> BarArrays:
    rows = np.loadtxt(REAL, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5))
    return BarArrays(*(rows[:, i].copy() for i in range(5)))


def shipped() -> list:
    return [(s.name, PLUGINS[s.plugin], s.values()) for s in load_strategies(CONFIG / "strategies")]


# --- look-ahead ------------------------------------------------------------------------------

def test_a_strategy_voting_with_the_next_close_is_caught_at_the_signal_with_both_values():
    # closes 100 101 103 102 102 104; the cheat votes sign(close[t+1] - close[t]) (its last bar
    # has no next close and reads its own): full sides +1 +1 -1 0 +1 0
    bars = BarArrays.from_close([100.0, 101.0, 103.0, 102.0, 102.0, 104.0])
    report = lookahead(LookAhead(), bars, {}, cuts=[3])
    # the data cut after bar 2 (bars[:3]): bar 2 is now the last, votes 0 where the full run
    # voted -1 (103 -> 102); bars 0 and 1 still see their next close: only bar 2 differs
    assert not report.ok
    [d] = report.differences
    assert (d.bar, d.what, d.full, d.cut, d.window, d.bars) == (2, "side", -1.0, 0.0, 3, 1)
    assert "bar 2 side -1 on the full data vs 0 with the data cut after bar 2" in report.note()
    assert "later bars" in report.note()


def test_by_default_it_cuts_right_after_the_signals():
    bars = BarArrays.from_close([100.0, 101.0, 103.0, 102.0, 102.0, 104.0])
    report = lookahead(LookAhead(), bars, {})
    # sides +1 +1 -1 0 +1 0 change at bars 2, 3, 4 and 5; a cut after bar 5 is the full data
    assert report.signals == 4 and report.cuts == (3, 4, 5)
    # after bar 2: -1 vs 0; after bar 3 (102 -> 102): 0 vs 0, no difference; after bar 4: +1 vs 0
    assert [(d.bar, d.full, d.cut) for d in report.differences] == [(2, -1.0, 0.0), (4, 1.0, 0.0)]


@pytest.mark.parametrize("bars", [random_bars(6_000, seed=11), real_bars()], ids=["random", "real"])
def test_every_shipped_strategy_passes_the_look_ahead_check(bars):
    for name, plugin, params in shipped():
        report = lookahead(plugin, bars, params, max_cuts=20)
        assert report.signals > 20 and len(report.cuts) == 20, name
        assert report.ok, report.note()


# --- recursive (warm-up) --------------------------------------------------------------------

def test_an_ema_seeded_at_the_first_bar_is_flagged_with_the_warm_up_that_makes_it_stable():
    # closes alternate 100 (even bars), 102 (odd bars). The EMA (a = 0.01) settles to
    # 101 -/+ d at even/odd bars, d = a / (2 - a) = 0.01 / 1.99 = 0.0050251; seeded with the
    # first close of a window it is off by 1 - d = 0.9949749, shrinking by 0.99 a bar.
    n = 2_000
    bars = BarArrays.from_close(np.where(np.arange(n) % 2 == 0, 100.0, 102.0))
    report = recursive(SeededEma(), bars, {})
    # the live window: max(200 bars, warm-up 20 + 1) = 200 bars, so 199 warm-up bars
    assert report.required == 199 and report.compared == 50 and not report.ok
    # bar 1950 (close 100) after 199 warm-up bars (seeded at bar 1751, close 102):
    # full 101 - 0.0050251 = 100.9949749; cut = full + 0.9949749 * 0.99 ** 199
    # = 100.9949749 + 0.9949749 * 0.1353331 = 101.1296278 (relative 0.1346530 / 100.99 = 1.33e-3)
    live = next(r for r in report.rows if r.warmup == 199)
    assert (live.worst.bar, live.worst.what, live.side_flips) == (1950, "ema", 0)
    assert live.worst.full == pytest.approx(100.9949749, abs=1e-7)
    assert live.worst.cut == pytest.approx(101.1296278, abs=1e-7)
    # stable when 0.9949749 * 0.99 ** w / 100.995 <= 1e-4: 0.99 ** w <= 0.0101505,
    # w >= ln(0.0101505) / ln(0.99) = -4.59028 / -0.0100503 = 456.7, so 457 bars
    assert report.stable_from == 457
    assert "not enough (stable from a warm-up of 457 bars)" in report.note()
    assert "bar 1950 ema 100.995 with the full history vs 101.13 after 199 warm-up bars" in report.note()


def test_without_indicators_the_votes_give_a_seeded_ema_away():
    report = recursive(SeededEmaVotesOnly(), random_bars(6_000, seed=4), {})
    assert not report.ok and report.rows[-1].stable
    live = next(r for r in report.rows if r.warmup == report.required)
    assert live.worst.what in ("side", "confidence") and live.indicators == {}
    # a ~500-bar memory: the 199 bars of the live window are not enough (its confidence,
    # saturated far past the threshold, hides part of the EMA's error: indicators see more)
    assert report.stable_from > report.required


@pytest.mark.parametrize("bars", [random_bars(6_000, seed=12), real_bars()], ids=["random", "real"])
def test_every_shipped_strategy_passes_the_recursive_check(bars):
    for _name, plugin, params in shipped():
        report = recursive(plugin, bars, params)
        assert report.checked and report.ok, report.note()
        assert report.stable_from is not None and report.stable_from <= report.required


# --- the optimizer --------------------------------------------------------------------------

def job(plugin):
    return run_job(plugin=plugin, space=Space.of(momentum_spec()), current={"lookback": 3.0, "threshold": 0.05},
                   bars=[wave_bars(3 * 1440)], configs=[BacktestConfig()], symbols=["BTC/USDT"],
                   cfg=small_config(), timer=lambda: 0.0)


def test_the_optimizer_refuses_a_look_ahead_strategy_naming_the_check_bar_and_values():
    out = job(LookAhead())
    assert out.status == "refused" and out.recommended == {} and out.trials == 0
    assert out.note.startswith("refused: look-ahead check failed: lookahead ")
    # on the sine (period 240, peak at bar 60) the cheat's vote turns at peaks, bars 60 + 240 k,
    # from +1 to -1, and at troughs, bars 180 + 240 k, from -1 to +1; cut there, the last bar votes 0
    m = re.search(r"first: bar (\d+) side (-?1) on the full data vs 0 with the data cut after bar (\d+)", out.note)
    assert m, out.note
    bar, side, cut = int(m[1]), int(m[2]), int(m[3])
    assert bar == cut and (bar - 60) % 120 == 0 and side == (-1 if (bar - 60) % 240 == 0 else 1)


def test_the_optimizer_refuses_a_warm_up_sensitive_strategy():
    out = job(SeededEmaVotesOnly())
    assert out.status == "refused" and out.trials == 0
    assert out.note.startswith("refused: recursive check of seeded_ema_votes")
    assert "warm-up sensitive, the live window's 199 warm-up bars are not enough" in out.note


# --- the CLI --------------------------------------------------------------------------------

def cli(capsys, *args) -> tuple[int, str, str]:
    code = failures.run(check_app, list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config_with_cheat(tmp_path, monkeypatch):
    """The shipped configuration plus `cheat`, a strategy on the look-ahead plugin."""
    monkeypatch.chdir(tmp_path)  # no data/history here: the seeded simulator
    monkeypatch.setitem(PLUGINS, "lookahead", LookAhead())
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "strategies" / "cheat.yaml").write_text(
        "name: cheat\nplugin: lookahead\nenabled: false\nsymbols: [BTC/USDT]\ntimeframe: 1m\nweight: 0.1\n"
        "params:\n  lookback: {value: 1, min: 1, max: 5, step: 1, kind: int}\n"
        "  threshold: {value: 0.0, min: 0.0, max: 0.01, step: 0.001}\n")
    return config


def test_check_commands_exit_0_on_a_pass_1_on_a_failure_2_on_bad_input(capsys, config_with_cheat):
    common = ["--days", "0.5", "--symbol", "BTC/USDT", "--config", str(config_with_cheat)]
    code, out, err = cli(capsys, "lookahead", "momentum", *common)
    assert code == 0 and "pass" in out and "passed" in out, out + err
    code, out, err = cli(capsys, "recursive", "rsi", *common)
    assert code == 0 and "199 (live window)" in out and "passed" in out, out + err
    code, out, _ = cli(capsys, "lookahead", "cheat", *common, "--seed", "3")
    assert code == 1 and "FAIL" in out and "failed on BTC/USDT" in out
    assert re.search(r"BTC/USDT: look-ahead check failed: lookahead .* first: bar (\d+) side -?1 on the full data "
                     r"vs 0 with the data cut after bar \1 ", out), out
    code, out, err = cli(capsys, "recursive", "rsi", "--days", "0.1", "--symbol", "BTC/USDT",
                         "--config", str(config_with_cheat))
    assert code == 2 and "not checked" in err and "ask for more --days" in err
    code, _, err = cli(capsys, "lookahead", "nosuch", *common)
    assert code == 2 and "unknown strategy 'nosuch'" in err
