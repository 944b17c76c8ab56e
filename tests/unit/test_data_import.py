"""`tradewinds data import` (CSV, FreqTrade JSON and feather) and research on the history the
user names: its timeframe (5-minute included), its coverage and gaps, the symbols it lacks, and
one clear line (exit 2) for a `--data` that is missing or empty, never simulated bars."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as pf
import pytest
from typer.testing import CliRunner

from infra.cli.app import app
from shared.history import ParquetBarHistory
from shared.history.window import gaps, load_window

REAL = Path(__file__).parents[1] / "data" / "alt_btc_1m_2017-11-05_07.csv"
T0 = datetime(2017, 11, 5, tzinfo=UTC)
runner = CliRunner()


def tw(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def one_clear_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- import -------------------------------------------------------------------------------
def test_real_csv_with_header_and_iso_times(tmp_path):
    out = tmp_path / "hist"
    result = tw("data", "import", REAL, "--exchange", "binance", "--symbol", "unittest/btc", "--out", out)
    assert result.exit_code == 0, result.output
    assert "3952 bars" in result.output  # 1196 + 1414 + 1342 rows of the three days in the file
    bars = ParquetBarHistory(out).read("binance", "UNITTEST/BTC", T0, T0 + timedelta(days=3))
    assert len(bars) == 3952
    assert (bars[0].open_time, bars[0].close, bars[0].volume) == (T0, Decimal("0.00159975"), Decimal("1.24706985"))
    # row "2017-11-05T00:14:00Z,0.00158715,0.00158715,0.0015867400000000001,...": the float's noise is dropped
    row = next(b for b in bars if b.open_time == T0 + timedelta(minutes=14))
    assert (row.low, row.close) == (Decimal("0.00158674"), Decimal("0.00158674"))
    # importing again adds nothing: what is stored is kept
    again = tw("data", "import", REAL, "--exchange", "binance", "--symbol", "UNITTEST/BTC", "--out", out)
    assert "(0 new" in again.output


@pytest.mark.parametrize("stamp", [
    lambda t: str(int(t.timestamp() * 1000)),  # epoch milliseconds
    lambda t: str(int(t.timestamp())),         # epoch seconds
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),  # ISO without a zone: UTC
])
def test_headerless_csv_in_ms_s_or_iso(tmp_path, stamp):
    rows = [(0, "100", "101", "99", "100.5", "3"), (1, "100.5", "102", "100", "101", "4"),
            (3, "101", "101", "98", "99", "0")]  # minute 2 missing
    path = tmp_path / "c.csv"
    path.write_text("".join(f"{stamp(T0 + timedelta(minutes=m))},{o},{h},{lo},{c},{v}\n"
                            for m, o, h, lo, c, v in rows))
    result = tw("data", "import", path, "--exchange", "kraken", "--symbol", "BTC/USDT", "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    assert "3 bars" in result.output and "1 missing bars" in result.output
    bars = ParquetBarHistory(tmp_path / "h").read("kraken", "BTC/USDT", T0, T0 + timedelta(hours=1))
    assert [b.open_time for b in bars] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)]
    assert [b.close for b in bars] == [Decimal("100.5"), Decimal(101), Decimal(99)]


def _freqtrade_5m(n: int = 6) -> list[list]:
    """FreqTrade's JSON (orient=values): [ms, open, high, low, close, volume] floats."""
    out = []
    for i in range(n):
        ms = int((T0 + timedelta(minutes=5 * i)).timestamp() * 1000)
        out.append([ms, 0.0016 + i * 1e-6, 0.00162 + i * 1e-6, 0.00159 + i * 1e-6, 0.00161 + i * 1e-6, 10.5])
    return out


def test_freqtrade_json_infers_five_minutes(tmp_path):
    path = tmp_path / "UNITTEST_BTC-5m.json"
    path.write_text(json.dumps(_freqtrade_5m()))
    result = tw("data", "import", path, "--exchange", "binance", "--symbol", "UNITTEST/BTC", "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    bars = ParquetBarHistory(tmp_path / "h").read("binance", "UNITTEST/BTC", T0, T0 + timedelta(hours=1), "5m")
    assert len(bars) == 6 and {b.timeframe for b in bars} == {"5m"}
    assert bars[2].close == Decimal("0.001612")  # 0.00161 + 2 x 0.000001, the float read back as written
    assert bars[2].open_time == T0 + timedelta(minutes=10)


def test_freqtrade_feather(tmp_path):
    dates = [T0 + timedelta(minutes=i) for i in range(4)]
    table = pa.table({"date": pa.array(dates, pa.timestamp("ms", tz="UTC")),
                      "open": [1.5, 1.6, 1.7, 1.8], "high": [1.6, 1.7, 1.8, 1.9],
                      "low": [1.4, 1.5, 1.6, 1.7], "close": [1.6, 1.7, 1.8, 1.85], "volume": [1.0, 2, 3, 4]})
    path = tmp_path / "ALT_BTC-1m.feather"
    pf.write_feather(table, path)
    result = tw("data", "import", path, "--exchange", "binance", "--symbol", "ALT/BTC", "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    bars = ParquetBarHistory(tmp_path / "h").read("binance", "ALT/BTC", T0, T0 + timedelta(hours=1))
    assert [b.close for b in bars] == [Decimal("1.6"), Decimal("1.7"), Decimal("1.8"), Decimal("1.85")]


@pytest.mark.parametrize("body, name, expected", [
    ("date,open,high,low,close,volume\n2017-11-05T00:00:00Z,1,0.9,0.8,1,5\n", "bad.csv",
     "row 2: bar violates low <= open,close <= high"),
    ("2017-11-05T00:00:30Z,1,1,1,1,5\n2017-11-05T00:01:30Z,1,1,1,1,5\n", "off.csv", "does not open a 1m bar"),
    ("2017-11-05T00:00:00Z,1,1,abc,1,5\n", "nan.csv", "row 1: not a number: 'abc'"),
    ("whatever", "x.xlsx", "unknown format"),
    ("{\"a\": 1}", "x.json", "expected a list of [date, open, high, low, close, volume] rows"),
])
def test_a_bad_file_is_one_line_naming_the_row(tmp_path, body, name, expected):
    path = tmp_path / name
    path.write_text(body)
    line = one_clear_line(tw("data", "import", path, "--exchange", "binance", "--symbol", "A/B",
                             "--out", tmp_path / "h"))
    assert expected in line and str(path) in line
    assert not (tmp_path / "h").exists()


# -- research on the named history --------------------------------------------------------
@pytest.mark.parametrize("command", ["backtest", "optimize"])
def test_a_named_data_path_missing_or_empty_is_an_error(tmp_path, command):
    line = one_clear_line(tw(command, "momentum", "--data", tmp_path / "does-not-exist"))
    assert line == f"error: --data {tmp_path / 'does-not-exist'}: no such directory"
    (tmp_path / "empty").mkdir()
    line = one_clear_line(tw(command, "momentum", "--data", tmp_path / "empty"))
    assert "holds no bar history" in line
    # history of other symbols only: said, not simulated
    tw("data", "import", REAL, "--exchange", "binance", "--symbol", "UNITTEST/BTC", "--out", tmp_path / "h")
    line = one_clear_line(tw(command, "momentum", "--data", tmp_path / "h"))
    assert "no history of BTC/USDT, ETH/USDT on binance" in line and "UNITTEST/BTC 1m" in line


def test_backtest_runs_on_five_minute_history(tmp_path):
    rows = [[int((T0 + timedelta(minutes=5 * i)).timestamp() * 1000), p, p * 1.002, p * 0.998, p, 50.0]
            for i, p in enumerate(0.0016 * (1 + 0.01 * ((i % 40) - 20) / 20) for i in range(864))]
    path = tmp_path / "UNITTEST_BTC-5m.json"  # three days of 5-minute bars: 3 x 288 = 864
    path.write_text(json.dumps(rows))
    assert tw("data", "import", path, "--exchange", "binance", "--symbol", "UNITTEST/BTC",
              "--out", tmp_path / "h").exit_code == 0
    result = tw("backtest", "momentum_ethbtc", "--symbol", "UNITTEST/BTC", "--days", "3",
                "--data", tmp_path / "h", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "history binance 5m 2017-11-05 00:00 → 2017-11-08 00:00 UTC: 864 of 864 bars (100.0%)" in flat
    assert "backtests: 1 on 5m bars" in flat and "simulator" not in flat


def test_partial_coverage_runs_on_what_is_there_and_says_what_is_missing(tmp_path):
    # BTC/USDT only, 2 of the window's 3 hours, a 10-minute hole: momentum also names ETH/USDT
    bars = [[int((T0 + timedelta(minutes=m)).timestamp() * 1000), 100 + m % 7, 101 + m % 7, 99 + m % 7,
             100.5 + m % 7 if m % 2 else 99.5 + m % 7, 1.0]
            for m in range(60, 180) if not 100 <= m < 110]
    path = tmp_path / "btc.json"
    path.write_text(json.dumps(bars))
    assert tw("data", "import", path, "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
              "--out", tmp_path / "h").exit_code == 0
    result = tw("backtest", "momentum", "--days", "0.125", "--data", tmp_path / "h", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    # window: the last bar (02:59) closes 03:00; 0.125 d = 3 h back to 00:00; 180 minutes, 110 with a bar
    assert "history binance 1m 2017-11-05 00:00 → 2017-11-05 03:00 UTC: 110 of 180 bars (61.1%)" in flat
    assert "gaps: 2 totalling 1 h 10 min" in flat
    assert "left out (no history): ETH/USDT (no 1m history on binance); running on BTC/USDT" in flat
    assert "backtests: 1 on 1m bars" in flat


def test_gaps_are_the_stretches_without_a_bar():
    m = timedelta(minutes=1)
    have = {T0, T0 + m, T0 + 4 * m}
    assert gaps(have, T0, T0 + 6 * m, m) == [(T0 + 2 * m, T0 + 4 * m), (T0 + 5 * m, T0 + 6 * m)]


def test_window_picks_the_timeframe_most_symbols_have(tmp_path):
    from shared.contracts import Bar

    def bar(symbol, tf, minutes):
        return Bar(venue="binance", symbol=symbol, timeframe=tf, open_time=T0 + timedelta(minutes=minutes),
                   open=1, high=1, low=1, close=1, volume=1)

    h = ParquetBarHistory(tmp_path)
    h.write([bar("A/B", "5m", 0), bar("C/B", "5m", 0), bar("A/B", "1m", 0)])
    win = load_window(tmp_path, "binance", ["A/B", "C/B"], days=1)
    assert win.timeframe == "5m" and win.symbols == ["A/B", "C/B"]  # 5m: both have it; 1m only A/B
