"""ParquetBarHistory: round trip, idempotent writes, ranges across days, last_time;
the GCS adapter imports no Google SDK until it is used."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.contracts import Bar
from shared.history import ParquetBarHistory
from shared.ports import BarHistory

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2024, 1, 1, 23, 50, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def bar(minute: int, venue: str = "binance", symbol: str = "BTC/USDT", close: str = "65000.10") -> Bar:
    price = Decimal(close)
    return Bar(
        venue=venue, symbol=symbol, open_time=T0 + timedelta(minutes=minute),
        open=price, high=price * Decimal("1.001"), low=price * Decimal("0.999"),
        close=price, volume=Decimal("12.34567"), trades=42 + minute,
    )


def test_round_trip_is_exact_and_spans_day_files(tmp_path):
    history: BarHistory = ParquetBarHistory(tmp_path)
    bars = [bar(m) for m in range(20)]                       # 23:50 .. 00:09 next day
    assert history.write(reversed(bars)) == 20
    back = history.read("binance", "BTC/USDT", T0, T0 + timedelta(hours=1))
    assert back == bars
    assert [str(b.close) for b in back] == ["65000.10"] * 20       # exact decimals, same scale
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == ["binance/BTC-USDT/1m/2024-01-01.parquet", "binance/BTC-USDT/1m/2024-01-02.parquet"]
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_writes_are_idempotent_and_first_write_wins(tmp_path):
    history = ParquetBarHistory(tmp_path)
    assert history.write([bar(0), bar(1)]) == 2
    assert history.write([bar(1, close="1.00"), bar(2)]) == 1     # redelivered minute 1 ignored
    assert history.write([bar(0), bar(1), bar(2)]) == 0
    back = history.read("binance", "BTC/USDT", T0, T0 + timedelta(minutes=3))
    assert [b.open_time for b in back] == [T0 + timedelta(minutes=m) for m in range(3)]
    assert back[1].close == Decimal("65000.10")


def test_read_is_half_open_and_keyed_by_venue_symbol_timeframe(tmp_path):
    history = ParquetBarHistory(tmp_path)
    history.write([bar(m) for m in range(5)] + [bar(m, venue="kraken") for m in range(3)]
                  + [bar(0, symbol="ETH/BTC", close="0.05123")])
    got = history.read("binance", "BTC/USDT", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    assert [b.open_time for b in got] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert len(history.read("kraken", "BTC/USDT", T0, T0 + timedelta(days=1))) == 3
    assert history.read("binance", "BTC/USDT", T0, T0 + timedelta(days=1), timeframe="5m") == []
    assert history.read("okx", "BTC/USDT", T0, T0 + timedelta(days=1)) == []
    assert history.read("binance", "ETH/BTC", T0, T0 + timedelta(minutes=1))[0].close == Decimal("0.05123")


def test_last_time(tmp_path):
    history = ParquetBarHistory(tmp_path)
    assert history.last_time("binance", "BTC/USDT") is None
    history.write([bar(m) for m in range(15)])
    assert history.last_time("binance", "BTC/USDT") == T0 + timedelta(minutes=14)
    assert history.last_time("kraken", "BTC/USDT") is None


def test_simulator_bars_round_trip(tmp_path):
    from shared.config import load_market_config
    from shared.market.simulator import MarketSimulator

    start = datetime(2024, 2, 1, tzinfo=UTC)
    bars = MarketSimulator(load_market_config(), 2, start).advance(start + timedelta(minutes=30))
    history = ParquetBarHistory(tmp_path)
    assert history.write(bars) == len(bars) == 450
    back = history.read("kraken", "ETH/BTC", start, start + timedelta(hours=1))
    assert back == [b for b in bars if b.venue == "kraken" and b.symbol == "ETH/BTC"]


def test_gcs_adapter_imports_no_google_sdk_at_import_time():
    code = (
        "import sys\n"
        "import shared.adapters.gcp.gcs_history as g\n"
        "sdk = [m for m in sys.modules if m.startswith(('google.cloud.storage', 'google.api_core',"
        " 'google.auth', 'google.resumable_media'))]\n"
        "assert not sdk, sdk\n"
        "h = g.GcsBarHistory('bucket', prefix='/h/')\n"
        "assert h.prefix == 'h' and h._bucket is None\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
