"""`tradewinds data download`: real venue history through the ccxt adapter into Parquet.

Pages of closed bars are written as they arrive, so an interrupted download keeps what
it fetched; running it again resumes from the last stored bar of each symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shared.errors import TradewindsError
from shared.history.catalog import DEFAULT_ROOT
from shared.ports import BarHistory

app = typer.Typer(help="Download bar history from a real venue (ccxt).", no_args_is_help=True)
console = Console(stderr=True)


@dataclass(frozen=True)
class DownloadResult:
    symbol: str
    start: datetime  # where this run began (after resume)
    until: datetime
    fetched: int
    written: int


def download_history(
    exchange, history: BarHistory, symbol: str, since: datetime, until: datetime,
    timeframe: str = "1m", page_limit: int = 1000,
    on_page: Callable[[int], None] | None = None,
) -> DownloadResult:
    """Fetch [since, until) of `symbol`, skipping what `history` already holds at its end."""
    from shared.adapters.ccxt import timeframe_ms

    step = timedelta(milliseconds=timeframe_ms(timeframe))
    last = history.last_time(exchange.venue, symbol, timeframe)
    start = max(since, last + step) if last is not None else since
    fetched = written = 0
    for page in exchange.fetch_bars(symbol, start, until, timeframe, page_limit):
        fetched += len(page)
        written += history.write(page)
        if on_page:
            on_page(len(page))
    return DownloadResult(symbol, start, until, fetched, written)


def utc_option(value: str, flag: str) -> datetime:
    """An ISO date/time option as UTC (naive means UTC); a clear error names the flag."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{flag} {value!r} is not an ISO date/time") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@app.command()
def download(
    exchange_id: Annotated[str, typer.Option("--exchange", help="ccxt exchange id, e.g. binance.")],
    symbols: Annotated[list[str], typer.Option("--symbol", help="Unified symbol (repeatable), e.g. BTC/USDT.")],
    since: str = typer.Option(..., "--since", help="UTC start, ISO 8601 (e.g. 2024-01-01)."),
    until: str | None = typer.Option(None, "--until", help="UTC end (exclusive); default: now."),
    out: Annotated[Path, typer.Option("--out", help="History root (Parquet).")] = DEFAULT_ROOT,
    timeframe: str = typer.Option("1m", "--timeframe", help="Bar timeframe."),
    venue: str | None = typer.Option(None, "--venue", help="Venue name on the bars (default: the exchange id)."),
    page_limit: int = typer.Option(1000, "--page-limit", min=1, max=1000, help="Bars per request."),
    timeout_ms: int = typer.Option(10_000, "--timeout-ms", min=100, help="HTTP timeout per request."),
    max_attempts: int = typer.Option(5, "--max-attempts", min=1, max=20,
                                     help="Tries per request on rate limits and network errors."),
    api_url: str | None = typer.Option(None, "--api-url", hidden=True,
                                       help="Point every API url at this host (testing, mirrors)."),
) -> None:
    """Download closed bars into the Parquet history; resumes from the last stored bar."""
    from shared.adapters.ccxt import CcxtExchange, RetryPolicy
    from shared.history import ParquetBarHistory

    start = utc_option(since, "--since")
    try:
        exchange = CcxtExchange(exchange_id, venue=venue, urls_override=api_url,
                                timeout_ms=timeout_ms, retry=RetryPolicy(max_attempts=max_attempts))
        end = utc_option(until, "--until") if until else _closed_now(exchange, timeframe)
        if end <= start:
            raise typer.BadParameter("--until must be after --since")
        history = ParquetBarHistory(out)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console) as progress:
            for symbol in symbols:
                results = _one(exchange, history, symbol, start, end, timeframe, page_limit, progress)
                console.print(f"{exchange.venue} {symbol}: {results.written} new bars "
                              f"({results.fetched} fetched) from {results.start.isoformat()}")
    except TradewindsError as exc:
        console.print(f"[red]download failed:[/red] {exc}")
        raise typer.Exit(1) from exc


def _one(exchange, history, symbol, start, end, timeframe, page_limit, progress) -> DownloadResult:
    from shared.adapters.ccxt import timeframe_ms

    step_s = timeframe_ms(timeframe) / 1000
    last = history.last_time(exchange.venue, symbol, timeframe)
    first = max(start, last + timedelta(seconds=step_s)) if last else start
    total = max(0, int((end - first).total_seconds() // step_s))
    task = progress.add_task(f"{exchange.venue} {symbol}", total=total)
    return download_history(exchange, history, symbol, start, end, timeframe, page_limit,
                            on_page=lambda n: progress.advance(task, n))


def _closed_now(exchange, timeframe: str) -> datetime:
    from shared.adapters.ccxt import from_ms, timeframe_ms

    step = timeframe_ms(timeframe)
    return from_ms(exchange.milliseconds() // step * step)
