"""`tradewinds data ...`: market-data housekeeping. This module holds `generate`
(simulated history); `download` (real venues) lives in its own module."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from infra.cli.download import utc_option
from shared.config.venues import DEFAULT_PATH, load_market_config
from shared.errors import ConfigError
from shared.history import ParquetBarHistory
from shared.market.simulator import MarketSimulator

app = typer.Typer(help="Market data: generate simulated bar history.", no_args_is_help=True)
console = Console()


@app.callback()
def data() -> None:
    """Market data: simulated history (generate) and real venues (download)."""


@app.command()
def generate(
    days: float = typer.Option(1.0, "--days", min=0.0, help="Simulated days to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same market."),
    out: Path = typer.Option(Path("data/history"), "--out", help="ParquetBarHistory directory."),
    start: str = typer.Option("2024-01-01T00:00:00", "--start", help="UTC start (ISO 8601)."),
    config: Path = typer.Option(Path(DEFAULT_PATH), "--config", help="Venues/market YAML."),
    update_interval_s: float = typer.Option(5.0, "--interval", help="Book update grid, seconds."),
) -> None:
    """Run the seeded market simulator and store its 1-minute bars as Parquet."""
    try:
        market = load_market_config(config)
    except ConfigError as exc:
        console.print(f"[red]config error[/red]\n{exc}")
        raise typer.Exit(2) from exc
    begin = utc_option(start, "--start")
    sim = MarketSimulator(market, seed, begin, update_interval_s=update_interval_s)
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
        f"[{begin.isoformat()} .. {end.isoformat()}), seed {seed}"
    )


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
