"""Where bar history lives and what a history directory holds.

`DEFAULT_ROOT` (data/history) is the one default of every command that writes or reads
history (`data generate`, `data download`, `data import`, `backtest`, `optimize`, `run
--data`). `require(root)` turns a named path that is missing or holds no bars into one
clear `NoHistory` error (never a silent fall back to the simulator); `catalog(root)` lists
the series a directory holds (venue, symbol, timeframe, first and last day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shared.errors import ConfigError

DEFAULT_ROOT = Path("data/history")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


class NoHistory(ConfigError):
    """A named history path is missing, empty, or holds nothing for what was asked."""


def timeframe_minutes(timeframe: str) -> int:
    """'1m' -> 1, '5m' -> 5, '1h' -> 60, '1d' -> 1440; ValueError for anything else."""
    try:
        n = int(timeframe[:-1])
        unit = _UNIT_MINUTES[timeframe[-1]]
    except (KeyError, ValueError, IndexError):
        raise ValueError(f"unsupported timeframe {timeframe!r} (use e.g. 1m, 5m, 1h, 1d)") from None
    if n <= 0:
        raise ValueError(f"unsupported timeframe {timeframe!r}")
    return n * unit


def symbol_of_dir(name: str) -> str:
    """The inverse of `parquet_store.symbol_dir`: BTC-USDT -> BTC/USDT."""
    return name.replace("-", "/", 1).replace("_", ":")


@dataclass(frozen=True)
class Series:
    venue: str
    symbol: str
    timeframe: str
    first_day: date
    last_day: date
    days: int

    def __str__(self) -> str:
        return f"{self.venue} {self.symbol} {self.timeframe} ({self.first_day} .. {self.last_day})"


def catalog(root: Path) -> list[Series]:
    """Every venue/symbol/timeframe with at least one day file under `root`, sorted."""
    out = []
    root = Path(root)
    if not root.is_dir():
        return out
    for tf_dir in sorted(root.glob("*/*/*")):
        if not tf_dir.is_dir():
            continue
        days = sorted(p.stem for p in tf_dir.glob("*.parquet"))
        days = [d for d in days if _is_day(d)]
        if days:
            venue, sym, tf = tf_dir.relative_to(root).parts
            out.append(Series(venue, symbol_of_dir(sym), tf, date.fromisoformat(days[0]),
                              date.fromisoformat(days[-1]), len(days)))
    return out


def _is_day(stem: str) -> bool:
    try:
        date.fromisoformat(stem)
    except ValueError:
        return False
    return True


def describe(series: list[Series], limit: int = 6) -> str:
    """What a history holds, in one line."""
    if not series:
        return "nothing"
    shown = "; ".join(str(s) for s in series[:limit])
    return shown + (f"; and {len(series) - limit} more" if len(series) > limit else "")


def require(root: Path, flag: str = "--data"):
    """A `ParquetBarHistory` over `root`, or `NoHistory` saying why it cannot be one."""
    from shared.history.parquet_store import ParquetBarHistory

    root = Path(root)
    if not root.exists():
        raise NoHistory(f"{flag} {root}: no such directory")
    if not root.is_dir():
        raise NoHistory(f"{flag} {root}: not a directory (the history root holds "
                        "VENUE/SYMBOL/TIMEFRAME/DAY.parquet)")
    if not catalog(root):
        raise NoHistory(f"{flag} {root}: holds no bar history (no VENUE/SYMBOL/TIMEFRAME/DAY.parquet); "
                        "fill it with `tradewinds data import|download|generate`")
    return ParquetBarHistory(root)
