"""`tradewinds data ...`: market-data housekeeping. This module holds `generate`
(simulated history) and `import` (candle files users have: CSV, FreqTrade JSON/feather);
`download` (real venues) lives in its own module. All three write under
`shared.history.DEFAULT_ROOT` (data/history) unless `--out` says otherwise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from infra.cli import paths
from infra.cli.download import utc_option
from shared.config.venues import load_market_config
from shared.errors import ConfigError
from shared.history import DEFAULT_ROOT, ParquetBarHistory
from shared.market.regimes import MarketRegime
from shared.market.simulator import MarketSimulator

app = typer.Typer(help="Market data: generate, import or download bar history.", no_args_is_help=True)
err = Console(stderr=True)
console = Console()


@app.callback()
def data() -> None:
    """Bar history under data/history: simulated (generate), from files (import), from venues (download)."""


@app.command()
def generate(
    days: float = typer.Option(1.0, "--days", min=0.0, help="Simulated days to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same market."),
    out: Annotated[Path, typer.Option("--out", help="History root (Parquet).")] = DEFAULT_ROOT,
    start: str = typer.Option("2024-01-01T00:00:00", "--start", help="UTC start (ISO 8601)."),
    config: Annotated[Path | None, typer.Option(
        "--config", help="Venues/market YAML (default: venues.yaml of ./config, else the packaged one).")] = None,
    update_interval_s: float = typer.Option(5.0, "--interval", help="Book update grid, seconds."),
    market: Annotated[MarketRegime, typer.Option(
        "--market", help="random walk, trend, range or mixed (docs/simulator.md).")] = MarketRegime.RANDOM,
) -> None:
    """Run the seeded market simulator and store its 1-minute bars as Parquet."""
    try:
        venues = load_market_config(config or paths.config_dir(None) / "venues.yaml")
    except ConfigError as exc:
        console.print(f"[red]config error[/red]\n{exc}")
        raise typer.Exit(2) from exc
    begin = utc_option(start, "--start")
    sim = MarketSimulator(venues, seed, begin, update_interval_s=update_interval_s, regime=market.value)
    history = ParquetBarHistory(out)
    end = begin + timedelta(days=days)
    hours = max(1, int(-(-(end - begin).total_seconds() // 3600)))
    written = total = 0
    pending = []
    with Progress(
        TextColumn("[bold]generating[/bold] {task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("hours"), TimeRemainingColumn(), console=console,
    ) as progress:
        task = progress.add_task(f"seed {seed}", total=hours)
        now = begin
        while now < end:
            step_to = min(now + timedelta(hours=1), end)
            bars = sim.advance(step_to)
            pending.extend(bars)
            total += len(bars)
            if step_to.date() != now.date() or step_to >= end:  # flush once per day
                written += history.write(pending)
                pending = []
            now = step_to
            progress.advance(task)
    console.print(
        f"{total} bars for {len(sim.pairs)} venue/symbol pairs "
        f"({written} new) written to {out} "
        f"[{begin.isoformat()} .. {end.isoformat()}), seed {seed}, {sim.regime} market"
    )


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Candles: .csv, FreqTrade .json/.json.gz/.feather, .parquet.")],
    exchange: str = typer.Option(..., "--exchange",
                                 help="Venue name the bars are stored under (as in venues.yaml)."),
    symbol: str = typer.Option(..., "--symbol", help="BASE/QUOTE, e.g. BTC/USDT."),
    timeframe: str | None = typer.Option(None, "--timeframe",
                                         help="Bar timeframe, e.g. 1m, 5m (default: the spacing)."),
    out: Annotated[Path, typer.Option("--out", help="History root (Parquet).")] = DEFAULT_ROOT,
) -> None:
    """Import a candle file into the history (rows already stored are kept)."""
    from shared.history.importer import read_candles

    base, sep, quote = symbol.upper().partition("/")
    if not (sep and base and quote and "/" not in quote):
        _fail(f"--symbol {symbol!r}: use BASE/QUOTE, e.g. BTC/USDT")
    try:
        got = read_candles(file, exchange.lower(), f"{base}/{quote}", timeframe)
    except ConfigError as exc:
        _fail(str(exc))
    written = ParquetBarHistory(out).write(got.bars)
    console.print(
        f"{exchange.lower()} {base}/{quote} {got.timeframe}: {len(got.bars)} bars "
        f"{got.first:%Y-%m-%d %H:%M} → {got.last:%Y-%m-%d %H:%M} UTC from {file} "
        f"({written} new, {got.duplicates} duplicate rows, {got.gaps} missing bars) into {out}")


def _fail(message: str) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _mount_download() -> None:
    """`download` lives in infra/cli/download.py (its own module); list it in this group."""
    try:
        from infra.cli import download
    except ModuleNotFoundError as exc:
        if exc.name != "infra.cli.download":
            raise
        return
    app.registered_commands.extend(download.app.registered_commands)


_mount_download()
