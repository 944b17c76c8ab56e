"""A research window read from stored history: the timeframe it has, what it covers.

`load_window` picks the timeframe the history holds for the asked symbols (the one most of
them have, the finest on a tie; 5-minute files are as good as 1-minute ones), keeps the
symbols that have bars in the window and names the others, and reports the window's
coverage and gaps on the symbols' common clock (a minute missing in one symbol is missing
from all: the backtests share one clock). Nothing is simulated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.contracts import Bar
from shared.history.catalog import NoHistory, catalog, describe, timeframe_minutes
from shared.history.parquet_store import ParquetBarHistory


@dataclass(frozen=True)
class Window:
    venue: str
    timeframe: str
    start: datetime
    end: datetime
    symbols: list[str]                 # symbols with bars in the window, in the asked order
    bars: list[list[Bar]]              # per symbol of `symbols`
    missing: dict[str, str] = field(default_factory=dict)  # asked symbol -> why it is left out
    expected: int = 0                  # bars the window spans at `timeframe`
    common: int = 0                    # open times every kept symbol has
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)  # [from, to) without a bar

    @property
    def coverage(self) -> float:
        return self.common / self.expected if self.expected else 0.0

    def describe(self) -> str:
        text = (f"history {self.venue} {self.timeframe} {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} "
                f"UTC: {self.common} of {self.expected} bars ({self.coverage:.1%})")
        return text + ("" if not self.gaps else "; gaps: " + describe_gaps(self.gaps))


def describe_gaps(gaps: Sequence[tuple[datetime, datetime]], show: int = 3) -> str:
    total = sum(((b - a) for a, b in gaps), timedelta())
    largest = sorted(gaps, key=lambda g: g[0] - g[1])[:show]
    parts = [f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M} ({_span(b - a)})" for a, b in largest]
    more = f" and {len(gaps) - show} more" if len(gaps) > show else ""
    return f"{len(gaps)} totalling {_span(total)}, largest {', '.join(parts)}{more}"


def _span(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"{days} d {hours} h" if days else (f"{hours} h {mins} min" if hours else f"{mins} min")


def pick_timeframe(held: dict[str, set[str]]) -> str:
    """The timeframe most symbols hold; the finest on a tie."""
    counts: dict[str, int] = {}
    for tfs in held.values():
        for tf in tfs:
            counts[tf] = counts.get(tf, 0) + 1
    return min(counts, key=lambda tf: (-counts[tf], timeframe_minutes(tf)))


def load_window(root: Path, venue: str, symbols: Sequence[str], days: float,
                end: datetime | None = None, timeframe: str | None = None) -> Window:
    """`days` of bars ending at `end` (default: the last stored bar's close)."""
    root = Path(root)
    series = catalog(root)
    held: dict[str, set[str]] = {}
    for s in series:
        if s.venue == venue and s.symbol in symbols and (timeframe is None or s.timeframe == timeframe):
            held.setdefault(s.symbol, set()).add(s.timeframe)
    if not held:
        tf = f" {timeframe}" if timeframe else ""
        raise NoHistory(f"no{tf} history of {', '.join(symbols)} on {venue} under {root}; "
                        f"it holds: {describe(series)}")
    tf = timeframe or pick_timeframe(held)
    step = timedelta(minutes=timeframe_minutes(tf))
    history = ParquetBarHistory(root)
    missing = {s: f"no {tf} history on {venue}" for s in symbols if tf not in held.get(s, set())}
    kept = [s for s in symbols if s not in missing]
    if end is None:
        end = max(history.last_time(venue, s, tf) for s in kept) + step
    end = end.astimezone(UTC)
    start = end - timedelta(days=days)
    start = _ceil(start, step)
    bars, with_bars = [], []
    for s in kept:
        got = history.read(venue, s, start, end, tf)
        if got:
            bars.append(got)
            with_bars.append(s)
        else:
            missing[s] = f"no {tf} bars in the window"
    if not with_bars:
        raise NoHistory(f"the {tf} history of {', '.join(kept)} on {venue} has no bar in "
                        f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC; it holds: "
                        f"{describe([x for x in series if x.venue == venue and x.symbol in kept])}")
    common = set.intersection(*({b.open_time for b in got} for got in bars))
    expected = int((end - start) / step)
    return Window(venue, tf, start, end, with_bars, bars, missing, expected, len(common),
                  gaps(common, start, end, step))


def _ceil(when: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    n = -(-(when - epoch) // step)
    return epoch + n * step


def gaps(have: set[datetime], start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """Maximal [from, to) stretches of the grid start, start+step, ... < end with no open time in `have`."""
    out, t, gap_from = [], start, None
    while t < end:
        if t in have:
            if gap_from is not None:
                out.append((gap_from, t))
                gap_from = None
        elif gap_from is None:
            gap_from = t
        t += step
    if gap_from is not None:
        out.append((gap_from, end))
    return out
