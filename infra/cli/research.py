"""`tradewinds backtest` and `tradewinds optimize` (mounted at the top level).

Bars come from the Parquet history (`--data`, default config/optimizer.yaml history.root)
when it covers the window, else from the seeded market simulator. Both commands print a
metrics table and write an HTML + PNG report (equity, drawdown, parameter landscape)
under `--out` (default reports/).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Backtests and optimisation.")
console = Console()


def _deps(config_dir: Path, data: Path | None):
    from shared.clock import WallClock
    from shared.handlers import optimizer
    from shared.history import ParquetBarHistory

    deps = optimizer.build_deps(store=None, clock=WallClock(), config_dir=str(config_dir))
    if data is not None:
        deps.history = ParquetBarHistory(data) if data.is_dir() else None
    return deps


def _spec(deps, strategy: str):
    spec = deps.spec(strategy)
    if spec is None:
        raise typer.BadParameter(f"unknown strategy {strategy!r}; known: {', '.join(s.name for s in deps.strategies)}")
    return spec


def _window(days: float, end: str | None) -> tuple[datetime, datetime]:
    stop = datetime.fromisoformat(end).astimezone(UTC) if end else datetime(2026, 1, 5, tzinfo=UTC)
    return stop - timedelta(days=days), stop


def _bars(deps, symbols, start, end):
    from shared.optimize.data import window_bars

    with console.status(f"loading {len(symbols)} symbol(s), {start:%Y-%m-%d} → {end:%Y-%m-%d}"):
        bars, source = window_bars(history=deps.history, market=deps.market, venue=deps.config.venue,
                                   symbols=symbols, start=start, end=end, cfg=deps.config.history)
    console.print(f"bars: {len(bars[0])} per symbol from {source}")
    return bars


def _table(title: str, rows: dict[str, dict]) -> None:
    names = list(rows)
    table = Table("metric", *names, title=title)
    for key in rows[names[0]]:
        if isinstance(rows[names[0]][key], (dict, list)):
            continue
        table.add_row(key, *(str(rows[n].get(key)) for n in names))
    console.print(table)


def _overrides(pairs: list[str] | None) -> dict[str, float]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: use NAME=VALUE", param_hint="--param")
        out[key.strip()] = float(value)
    return out


@app.command()
def backtest(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(30.0, "--days", min=0.1, help="Window length in days of 1-minute bars."),
    end: str | None = typer.Option(None, "--end", help="Window end (ISO, UTC; default 2026-01-05)."),
    param: list[str] | None = typer.Option(None, "--param", help="Override a parameter: NAME=VALUE."),
    data: Path | None = typer.Option(None, "--data", help="Parquet history root."),
    config_dir: Path = typer.Option(Path("config"), "--config"),
    out: Path = typer.Option(Path("reports"), "--out"),
) -> None:
    """Backtest one strategy with the live rules (next-bar fills, taker fee, slippage, sizing)."""
    from shared.backtest import compute, report, run
    from shared.handlers.optimizer import _symbols, backtest_config
    from shared.strategies.registry import get_plugin

    deps = _deps(config_dir, data)
    spec = _spec(deps, strategy)
    params = {**spec.values(), **_overrides(param)}
    symbols = _symbols(spec, deps)
    start, stop = _window(days, end)
    bars = _bars(deps, symbols, start, stop)
    plugin = get_plugin(spec.plugin)
    rows, curves, initial = {}, {}, 0.0
    t0 = time.perf_counter()
    for symbol, b in zip(symbols, bars):
        cfg = backtest_config(symbol, deps)
        result = run(b, plugin.votes(b, params), cfg)
        rows[symbol] = compute(result).to_dict(4)
        curves[symbol] = result.equity / cfg.initial_cash * 100
        initial = 100.0
    console.print(f"backtests: {len(symbols)} in {time.perf_counter() - t0:.3f} s; params {params}")
    _table(f"{strategy} backtest", rows)
    png, page = report.write(out, f"backtest-{strategy}", f"Backtest {strategy} {params}", curves, initial,
                             {"parameters": params, **rows})
    console.print(f"report: [bold]{page}[/bold] and {png}")


@app.command()
def optimize(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(30.0, "--days", min=0.5),
    end: str | None = typer.Option(None, "--end"),
    method: str | None = typer.Option(None, "--method", help="grid | random | bayesian (default: config)."),
    trials: int | None = typer.Option(None, "--trials", help="Trials per fold (default: config)."),
    data: Path | None = typer.Option(None, "--data"),
    config_dir: Path = typer.Option(Path("config"), "--config"),
    out: Path = typer.Option(Path("reports"), "--out"),
) -> None:
    """Walk-forward search of one strategy's YAML ranges; prints and reports the outcome.
    (Research only: nothing is applied - the optimizer step and `params approve` do that.)"""
    from shared.backtest import report
    from shared.handlers.optimizer import _symbols, backtest_config
    from shared.optimize.job import run_job
    from shared.optimize.space import Space
    from shared.strategies.registry import get_plugin

    deps = _deps(config_dir, data)
    search = deps.config.search.model_copy(update={k: v for k, v in (("method", method), ("trials_per_fold", trials))
                                                   if v is not None})
    cfg = deps.config.model_copy(update={"search": search})
    spec = _spec(deps, strategy)
    symbols = _symbols(spec, deps)
    start, stop = _window(days, end)
    bars = _bars(deps, symbols, start, stop)
    with Progress(TextColumn("[bold]walk-forward folds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("folds", total=cfg.walk_forward.folds)
        t0 = time.perf_counter()
        outcome = run_job(plugin=get_plugin(spec.plugin), space=Space.of(spec), current=spec.values(), bars=bars,
                          configs=[backtest_config(s, deps) for s in symbols], symbols=symbols, cfg=cfg,
                          timer=time.perf_counter,
                          on_fold=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"[bold]{outcome.status}[/bold] in {time.perf_counter() - t0:.1f} s "
                  f"({outcome.evaluations} evaluations, {outcome.trials} trials per fold): {outcome.note}")
    if not outcome.current_report:
        raise typer.Exit(0 if outcome.status != "failed" else 1)
    console.print(f"current {outcome.current}  →  recommended {outcome.recommended or '(keep current)'}")
    _table(f"{strategy}: walk-forward out-of-sample", {"current": outcome.current_report,
                                                      "recommended": outcome.recommended_report})
    initial = backtest_config(symbols[0], deps).initial_cash
    png, page = report.write(
        out, f"optimize-{strategy}", f"Optimisation of {strategy} ({outcome.status})", outcome.equity, initial,
        {"outcome": {"status": outcome.status, "note": outcome.note, "current": outcome.current,
                     "recommended": outcome.recommended},
         "current (OOS)": {k: v for k, v in outcome.current_report.items() if not isinstance(v, (dict, list))},
         "recommended (OOS)": {k: v for k, v in outcome.recommended_report.items()
                               if not isinstance(v, (dict, list))}},
        outcome.landscape)
    console.print(f"report: [bold]{page}[/bold] and {png}")
