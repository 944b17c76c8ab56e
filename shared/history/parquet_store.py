"""Bar history in Parquet: one file per venue / symbol / timeframe / UTC day.

Layout: `<root>/<venue>/<SYMBOL>/<timeframe>/<YYYY-MM-DD>.parquet` with the symbol's
"/" written as "-" (BTC/USDT -> BTC-USDT). Prices and volume are stored as exact
decimal strings (no float rounding); `open_time` as a UTC timestamp. Writes are
idempotent on (venue, symbol, timeframe, open_time): a bar already stored is kept and
not counted. Files are replaced atomically. The same encoding serves the GCS adapter.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shared.contracts import Bar

SCHEMA = pa.schema([
    ("venue", pa.string()),
    ("symbol", pa.string()),
    ("timeframe", pa.string()),
    ("open_time", pa.timestamp("us", tz="UTC")),
    ("open", pa.string()),
    ("high", pa.string()),
    ("low", pa.string()),
    ("close", pa.string()),
    ("volume", pa.string()),
    ("trades", pa.int64()),
])

DayKey = tuple[str, str, str, date]


def symbol_dir(symbol: str) -> str:
    return symbol.replace("/", "-").replace(":", "_")


def day_path(venue: str, symbol: str, timeframe: str, day: date) -> str:
    """Relative path (or object name suffix) of one day's file."""
    return f"{venue}/{symbol_dir(symbol)}/{timeframe}/{day.isoformat()}.parquet"


def group_by_day(bars: Iterable[Bar]) -> dict[DayKey, list[Bar]]:
    groups: dict[DayKey, list[Bar]] = defaultdict(list)
    for bar in bars:
        groups[(bar.venue, bar.symbol, bar.timeframe, bar.open_time.date())].append(bar)
    return groups


def days_between(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def encode(bars: list[Bar]) -> bytes:
    """Bars (sorted by open_time) as Parquet bytes."""
    columns = {
        "venue": [b.venue for b in bars],
        "symbol": [b.symbol for b in bars],
        "timeframe": [b.timeframe for b in bars],
        "open_time": [b.open_time for b in bars],
        "open": [format(b.open, "f") for b in bars],
        "high": [format(b.high, "f") for b in bars],
        "low": [format(b.low, "f") for b in bars],
        "close": [format(b.close, "f") for b in bars],
        "volume": [format(b.volume, "f") for b in bars],
        "trades": [b.trades for b in bars],
    }
    table = pa.Table.from_pydict(columns, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def decode(data: bytes) -> list[Bar]:
    table = pq.read_table(io.BytesIO(data))
    rows = table.to_pydict()
    return [
        Bar(
            venue=rows["venue"][i], symbol=rows["symbol"][i], timeframe=rows["timeframe"][i],
            open_time=rows["open_time"][i].astimezone(UTC),
            open=Decimal(rows["open"][i]), high=Decimal(rows["high"][i]),
            low=Decimal(rows["low"][i]), close=Decimal(rows["close"][i]),
            volume=Decimal(rows["volume"][i]), trades=rows["trades"][i],
        )
        for i in range(table.num_rows)
    ]


def merge(existing: list[Bar], new: list[Bar]) -> tuple[list[Bar], int]:
    """Existing bars win; returns the merged, time-sorted list and how many were added."""
    by_time = {b.open_time: b for b in existing}
    added = 0
    for bar in new:
        if bar.open_time not in by_time:
            by_time[bar.open_time] = bar
            added += 1
    return [by_time[t] for t in sorted(by_time)], added


_PRICES = ("open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    return (at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


def in_range(bars: list[Bar], start: datetime, end: datetime) -> list[Bar]:
    """Bars with start <= open_time < end."""
    return [b for b in bars if start <= b.open_time < end]


class ParquetBarHistory:
    """`shared.ports.BarHistory` over a local directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _file(self, venue: str, symbol: str, timeframe: str, day: date) -> Path:
        return self.root / day_path(venue, symbol, timeframe, day)

    def _load(self, path: Path) -> list[Bar]:
        return decode(path.read_bytes()) if path.exists() else []

    def write(self, bars: Iterable[Bar]) -> int:
        added_total = 0
        for (venue, symbol, timeframe, day), group in group_by_day(bars).items():
            path = self._file(venue, symbol, timeframe, day)
            merged, added = merge(self._load(path), group)
            if added:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp-{os.getpid()}")
                tmp.write_bytes(encode(merged))
                os.replace(tmp, path)
            added_total += added
        return added_total

    def read(
        self, venue: str, symbol: str, start: datetime, end: datetime, timeframe: str = "1m"
    ) -> list[Bar]:
        """Bars with start <= open_time < end, oldest first."""
        out: list[Bar] = []
        for day in days_between(start, end):
            out.extend(in_range(self._load(self._file(venue, symbol, timeframe, day)), start, end))
        return out

    def read_arrays(
        self, venue: str, symbol: str, start: datetime, end: datetime, timeframe: str = "1m"
    ) -> tuple[np.ndarray, np.ndarray]:
        """`read` for research, without a Bar per row: the open times (microseconds since the
        epoch) and the (n, 5) open/high/low/close/volume, each the float of the stored
        decimal text (as `float(Decimal(text))`: both round the exact value once)."""
        lo, hi = _micros(start), _micros(end)
        times, rows = [np.zeros(0, dtype=np.int64)], [np.zeros((0, 5))]
        for day in days_between(start, end):
            path = self._file(venue, symbol, timeframe, day)
            if not path.exists():
                continue
            table = pq.read_table(path, columns=["open_time", *_PRICES])
            t = table.column("open_time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
            r = np.column_stack([np.array(table.column(c).to_pylist(), dtype=np.float64).reshape(-1)
                                 for c in _PRICES]).reshape(-1, 5)
            keep = (t >= lo) & (t < hi)
            times.append(t[keep])
            rows.append(r[keep])
        return np.concatenate(times), np.concatenate(rows)

    def read_day(self, venue: str, symbol: str, timeframe: str, day: date) -> list[Bar]:
        """Every bar of one UTC day's file, oldest first (empty when there is no file)."""
        return self._load(self._file(venue, symbol, timeframe, day))

    def last_time(self, venue: str, symbol: str, timeframe: str = "1m") -> datetime | None:
        folder = self._file(venue, symbol, timeframe, date(2000, 1, 1)).parent
        days = sorted(folder.glob("*.parquet")) if folder.exists() else []
        for path in reversed(days):
            bars = self._load(path)
            if bars:
                return bars[-1].open_time
        return None
