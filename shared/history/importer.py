"""Candles users already have, read into `Bar`s for the Parquet history.

Formats (chosen by the file's suffix):
- CSV (`.csv`, `.txt`, optionally `.gz`): with or without a header row. With a header, the
  columns are found by name (date|time|timestamp|open_time|datetime, open, high, low,
  close, volume); without one they are [time, open, high, low, close, volume].
- FreqTrade JSON (`.json`, `.json.gz`): a list of `[date, open, high, low, close, volume]`
  rows (FreqTrade's default `orient=values`), or of objects with those keys.
- FreqTrade feather / Parquet (`.feather`, `.parquet`): columns date, open, high, low, close,
  volume.

Times may be epoch milliseconds, epoch seconds or ISO 8601 (naive means UTC); each must
open a bar of the timeframe (given, or inferred as the most common spacing). Prices are
kept as exact decimals; a binary float's noise (0.0015867400000000001: more than 15
significant digits) is rounded to 15 significant digits (0.00158674). A bad row is one
`CandleFileError` naming the file and the row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from pydantic import ValidationError

from shared.contracts import Bar
from shared.errors import ConfigError
from shared.history.catalog import timeframe_minutes

_TIME_NAMES = ("date", "time", "timestamp", "open_time", "datetime", "opentime", "ts")
_FIELDS = ("open", "high", "low", "close", "volume")
_MS_FLOOR = 100_000_000_000  # an epoch number above this is milliseconds (after 1973-03)


class CandleFileError(ConfigError):
    """The file cannot be read as candles; the message names the file and the row."""


@dataclass(frozen=True)
class Imported:
    bars: list[Bar]
    timeframe: str
    rows: int
    duplicates: int
    gaps: int  # missing bars between the first and the last

    @property
    def first(self) -> datetime:
        return self.bars[0].open_time

    @property
    def last(self) -> datetime:
        return self.bars[-1].open_time


def read_candles(path: Path, venue: str, symbol: str, timeframe: str | None = None) -> Imported:
    """Bars of `symbol` on `venue` from one file, oldest first."""
    path = Path(path)
    if not path.is_file():
        raise CandleFileError(f"{path}: no such file")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".json"):
        rows = _json_rows(path)
    elif name.endswith((".feather", ".parquet")):
        rows = _table_rows(path, name.endswith(".feather"))
    elif name.endswith((".csv", ".txt")):
        rows = _csv_rows(path)
    else:
        raise CandleFileError(f"{path}: unknown format (use .csv, .json, .feather or .parquet)")
    if not rows:
        raise CandleFileError(f"{path}: no candles in the file")
    return to_bars(rows, venue, symbol, timeframe, str(path))


# -- readers: (row number, time, [open, high, low, close, volume]) -----------------------
Row = tuple[int, object, Sequence[object]]


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8-sig")
    return path.open(encoding="utf-8-sig", newline="")


def _csv_rows(path: Path) -> list[Row]:
    with _open_text(path) as fh:
        lines = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not lines:
        return []
    order = [0, 1, 2, 3, 4, 5]
    first = lines[0]
    start = 0
    if not _looks_like_time(first[0]):
        header = [c.strip().lower() for c in first]
        try:
            order = [next(i for i, c in enumerate(header) if c in _TIME_NAMES)]
            order += [header.index(f) for f in _FIELDS]
        except (StopIteration, ValueError):
            raise CandleFileError(f"{path}: header {first} lacks one of "
                               f"date|timestamp, {', '.join(_FIELDS)}") from None
        start = 1
    out = []
    for n, row in enumerate(lines[start:], start=start + 1):
        if len(row) <= max(order):
            raise CandleFileError(f"{path}: row {n} has {len(row)} columns, expected {max(order) + 1}")
        out.append((n, row[order[0]].strip(), [row[i].strip() for i in order[1:]]))
    return out


def _json_rows(path: Path) -> list[Row]:
    with _open_text(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise CandleFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise CandleFileError(f"{path}: expected a list of [date, open, high, low, close, volume] rows")
    out = []
    for n, item in enumerate(data, start=1):
        if isinstance(item, dict):
            key = next((k for k in _TIME_NAMES if k in item), None)
            if key is None or any(f not in item for f in _FIELDS):
                raise CandleFileError(f"{path}: row {n} lacks date or one of {', '.join(_FIELDS)}")
            out.append((n, item[key], [item[f] for f in _FIELDS]))
        elif isinstance(item, list) and len(item) >= 6:
            out.append((n, item[0], item[1:6]))
        else:
            raise CandleFileError(f"{path}: row {n} is not [date, open, high, low, close, volume]")
    return out


def _table_rows(path: Path, feather: bool) -> list[Row]:
    import pyarrow.feather as pf
    import pyarrow.parquet as pq

    try:
        table = pf.read_table(path) if feather else pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds; the user needs one line
        raise CandleFileError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    names = [c.lower() for c in table.column_names]
    key = next((k for k in _TIME_NAMES if k in names), None)
    if key is None or any(f not in names for f in _FIELDS):
        raise CandleFileError(f"{path}: columns {table.column_names} lack date or one of {', '.join(_FIELDS)}")
    cols = {c.lower(): table.column(c).to_pylist() for c in table.column_names}
    return [(i + 1, cols[key][i], [cols[f][i] for f in _FIELDS]) for i in range(table.num_rows)]


# -- values ----------------------------------------------------------------------------
def _looks_like_time(text: str) -> bool:
    try:
        parse_time(text)
    except ValueError:
        return False
    return True


def parse_time(value: object) -> datetime:
    """Epoch ms, epoch s (int, float or digits) or ISO 8601 (naive = UTC) as a UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a time: {value!r}") from None
            return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if number is None:
        raise ValueError(f"not a time: {value!r}")
    millis = number if abs(number) >= _MS_FLOOR else number * 1000
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=round(millis))


def parse_decimal(value: object) -> Decimal:
    """An exact decimal; a float's binary noise (more than 15 significant digits, as in
    0.0015867400000000001) is rounded to 15 significant digits (0.00158674)."""
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        exact = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not exact.is_finite():
        raise ValueError(f"not a number: {value!r}")
    if len(exact.as_tuple().digits) > 15:
        return Decimal(f"{float(text):.15g}")
    return exact


# -- rows to bars ------------------------------------------------------------------------
def infer_timeframe(times: Iterable[datetime]) -> str:
    """The most common spacing between consecutive distinct times, as '<n>m'."""
    ordered = sorted(set(times))
    steps = Counter(int((b - a).total_seconds()) for a, b in pairwise(ordered))
    if not steps:
        return "1m"
    seconds = steps.most_common(1)[0][0]
    if seconds % 60:
        raise ValueError(f"candles are {seconds} s apart: not a whole number of minutes")
    return f"{seconds // 60}m"


def to_bars(rows: list[Row], venue: str, symbol: str, timeframe: str | None, source: str) -> Imported:
    parsed = []
    for n, when, values in rows:
        try:
            parsed.append((n, parse_time(when), [parse_decimal(v) for v in values]))
        except ValueError as exc:
            raise CandleFileError(f"{source}: row {n}: {exc}") from None
    try:
        tf = timeframe or infer_timeframe(t for _, t, _ in parsed)
        step = timeframe_minutes(tf) * 60
    except ValueError as exc:
        raise CandleFileError(f"{source}: {exc}") from None
    by_time: dict[datetime, Bar] = {}
    duplicates = 0
    for n, when, (o, h, lo, c, v) in parsed:
        if int(when.timestamp()) % step or when.microsecond:
            raise CandleFileError(f"{source}: row {n}: {when.isoformat()} does not open a {tf} bar")
        if when in by_time:
            duplicates += 1
            continue
        try:
            by_time[when] = Bar(venue=venue, symbol=symbol, timeframe=tf, open_time=when,
                                open=o, high=h, low=lo, close=c, volume=v)
        except ValidationError as exc:
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise CandleFileError(f"{source}: row {n}: {reason}") from None
    bars = [by_time[t] for t in sorted(by_time)]
    span = int((bars[-1].open_time - bars[0].open_time).total_seconds() // step) + 1
    return Imported(bars, tf, len(rows), duplicates, span - len(bars))
