"""Loading stored 1-minute history for research: Bars (one Decimal Bar per row) against
arrays (`ParquetBarHistory.read_arrays`), on a throw-away store of simulated bars.

    .venv/bin/python bench/history_read.py [--days 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.config import load_market_config
from shared.history.parquet_store import ParquetBarHistory
from shared.market.simulator import MarketSimulator

START = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    end = START + timedelta(days=args.days)
    with tempfile.TemporaryDirectory() as tmp:
        history = ParquetBarHistory(Path(tmp))
        sim = MarketSimulator(load_market_config(), 1, START)
        for day in range(args.days):
            history.write(b for b in sim.advance(START + timedelta(days=day + 1))
                          if b.venue == "binance" and b.symbol == "BTC/USDT")
        w = time.perf_counter()
        bars = history.read("binance", "BTC/USDT", START, end)
        as_bars = time.perf_counter() - w
        w = time.perf_counter()
        times, _ = history.read_arrays("binance", "BTC/USDT", START, end)
        as_arrays = time.perf_counter() - w
    n = len(bars)
    print(f"{args.days} days, {n:,} bars of binance BTC/USDT: Bars {as_bars:.3f} s ({as_bars / n * 1e6:.1f} us/bar), "
          f"arrays {as_arrays:.3f} s ({as_arrays / len(times) * 1e6:.2f} us/bar): {as_bars / as_arrays:.1f}x")


if __name__ == "__main__":
    main()
