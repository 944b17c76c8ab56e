"""`tradewinds check lookahead|recursive STRATEGY`: the bias checks of shared/research/bias.py
on a window of bars, per symbol, as tables. Exit 0 when every symbol passes, 1 when one fails,
2 on bad input (unknown strategy or parameter, a named `--data` without the bars, a window too
short to judge). Bars load as for `backtest` (research.py's helpers: stored history under
`--data`, else the seeded simulator). `check parity` is added when infra/cli/parity.py is there.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.cli.research import (
    ConfigOpt,
    DataOpt,
    EndOpt,
    SymbolOpt,
    TimeframeOpt,
    VenueOpt,
    _bars,
    _config_dir,
    _deps,
    _fail,
    _overrides,
    _spec,
    _symbols_of,
)

app = typer.Typer(help="Bias checks of a strategy: look-ahead, warm-up (recursive).", no_args_is_help=True)
console = Console()

_DAYS_HELP = "Window length in days."
_PARAM_HELP = "Override a parameter: NAME=VALUE."


def _setup(strategy: str, param, config_dir, venue):
    from shared.strategies.registry import get_plugin

    deps = _deps(_config_dir(config_dir), venue)
    spec = _spec(deps, strategy)
    overrides = _overrides(param)
    unknown = sorted(set(overrides) - set(spec.values()))
    if unknown:
        _fail(f"--param {', '.join(unknown)}: {strategy} has no such parameter; it has {', '.join(spec.values())}")
    params = {**spec.values(), **overrides}
    plugin = get_plugin(spec.plugin)
    problems = plugin.check(params)
    if problems:
        _fail("; ".join(f"params.{name}: {why}" for name, why in problems))
    return deps, spec, plugin, params


def _when(window, bar: int) -> str:
    times = window.times
    if times is None or bar >= len(times):
        return str(bar)
    return f"{bar} ({str(times[bar])[:16]}Z)"


def _verdict(ok: bool) -> str:
    return "[green]pass[/green]" if ok else "[bold red]FAIL[/bold red]"


@app.command("lookahead")
def lookahead_command(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(3.0, "--days", min=0.01, help=_DAYS_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed that samples the signals to cut at."),
    cuts: int = typer.Option(10, "--cuts", min=1, help="Signals to cut at, at most, per symbol."),
    end: EndOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", help=_PARAM_HELP)] = None,
    data: DataOpt = None,
    timeframe: TimeframeOpt = None,
    symbol: SymbolOpt = None,
    venue: VenueOpt = None,
    config_dir: ConfigOpt = None,
) -> None:
    """Re-run the strategy on the data cut right after its signals: a vote or indicator that
    differs from the full run's at the same bar is a look-ahead (bar t read a later bar)."""
    from shared.research.bias import lookahead

    deps, spec, plugin, params = _setup(strategy, param, config_dir, venue)
    window = _bars(deps, _symbols_of(spec, deps, symbol), days, end, data, timeframe)
    table = Table("symbol", "bars", "signals", "cuts", "result", "first difference",
                  title=f"{strategy}: look-ahead check, params {params}")
    failed, notes = [], []
    for sym, bars in zip(window.symbols, window.arrays):
        report = lookahead(plugin, bars, params, max_cuts=cuts, seed=seed)
        first = ""
        if not report.ok:
            failed.append(sym)
            notes.append(f"{sym}: {report.note()}")
            d = report.differences[0]
            first = (f"bar {_when(window, d.bar)}: {d.what} {d.full:.6g} on the full data, {d.cut:.6g} on the "
                     f"data cut after it; {len(report.differences)} of {len(report.cuts)} cuts differ")
        table.add_row(sym, str(report.bars), str(report.signals), str(len(report.cuts)), _verdict(report.ok),
                      first)
    console.print(table)
    for note in notes:
        console.print(note, markup=False, soft_wrap=True)
    _finish(failed, "look-ahead: its votes at bar t use later bars")


@app.command("recursive")
def recursive_command(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(3.0, "--days", min=0.01, help=_DAYS_HELP),
    warmup: Annotated[list[int] | None, typer.Option(
        "--warmup", help="Warm-up to try, in bars (repeatable; default: a grid around the live window's).")] = None,
    compare: int = typer.Option(50, "--compare", min=1, help="Last bars compared."),
    tolerance: float = typer.Option(1e-4, "--tolerance", min=0.0, help="Confidence absolute, indicators relative."),
    end: EndOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", help=_PARAM_HELP)] = None,
    data: DataOpt = None,
    timeframe: TimeframeOpt = None,
    symbol: SymbolOpt = None,
    venue: VenueOpt = None,
    config_dir: ConfigOpt = None,
) -> None:
    """Votes and indicators of the last bars after several warm-ups against the full history:
    fails when the live window's warm-up does not reproduce them (e.g. an EMA seeded at the
    first bar), naming the minimum warm-up that does."""
    from shared.research.bias import recursive

    deps, spec, plugin, params = _setup(strategy, param, config_dir, venue)
    window = _bars(deps, _symbols_of(spec, deps, symbol), days, end, data, timeframe)
    failed = []
    for sym, bars in zip(window.symbols, window.arrays):
        report = recursive(plugin, bars, params, warmup or None, compare=compare, tol=tolerance)
        if not report.checked:
            _fail(f"{sym}: {report.note()}; ask for more --days")
        names = sorted({k for r in report.rows for k in r.indicators})
        table = Table("warm-up bars", "side flips", "max |Δ| confidence", *(f"max rel |Δ| {n}" for n in names),
                      "stable", title=f"{strategy} {sym}: last {report.compared} bars vs the full {report.bars}")
        for r in report.rows:
            live = " (live window)" if r.warmup == report.required else ""
            table.add_row(f"{r.warmup}{live}", str(r.side_flips), f"{r.confidence:.3g}",
                          *(f"{r.indicators[n]:.3g}" for n in names), _verdict(r.stable))
        console.print(table)
        console.print(f"{sym}: {'passed' if report.ok else 'FAILED'}: {report.note()}", markup=False, soft_wrap=True)
        if not report.ok:
            failed.append(sym)
    _finish(failed, "warm-up sensitive: the live window does not reproduce the full history")


def _finish(failed: list[str], why: str) -> None:
    if failed:
        console.print(f"[bold red]failed[/bold red] on {', '.join(failed)}: {why}")
        raise typer.Exit(1)
    console.print("[green]passed[/green]")


try:  # `check parity`, written in its own module
    from infra.cli.parity import parity_command
except ImportError as exc:
    if exc.name != "infra.cli.parity":
        raise
else:
    app.command("parity")(parity_command)
