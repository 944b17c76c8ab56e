"""`tradewinds backtest` and `tradewinds optimize` (mounted at the top level).

Bars come from the Parquet history under `--data` (default `data/history`, the root every
`data` command writes): the window ends at the history's last bar unless `--end` says
otherwise, runs on the timeframe the history has (1m, 5m, ...), and its coverage and gaps
are printed; symbols without history are left out and named. A named `--data` that is
missing, empty or holds nothing for the strategy is an error (exit 2), never simulated.
Only without a named `--data` and with no usable history under the default root do the
bars come from the seeded market simulator (said on screen); `--market trend|range|mixed`
always simulates, on that structured market (docs/simulator.md). Both commands print a metrics
table and write an HTML report under `--out` (default reports/).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.market.regimes import MarketRegime

app = typer.Typer(help="Backtests and optimisation.")
console = Console()


def _deps(config_dir: Path, venue: str | None = None):
    from shared.clock import WallClock
    from shared.handlers import optimizer

    deps = optimizer.build_deps(store=None, clock=WallClock(), config_dir=str(config_dir))
    if venue:
        deps.config = deps.config.model_copy(update={"venue": venue})
    return deps


def _config_dir(option: Path | None) -> Path:
    from infra.cli import paths
    from shared.errors import ConfigError

    try:
        return paths.config_dir(option)
    except ConfigError as exc:
        _fail(str(exc))
        raise


def _fail(message: str) -> None:
    Console(stderr=True).print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _spec(deps, strategy: str):
    spec = deps.spec(strategy)
    if spec is None:
        _fail(f"unknown strategy {strategy!r}; known: {', '.join(s.name for s in deps.strategies)}")
    return spec


def _end(end: str | None) -> datetime | None:
    from infra.cli.download import utc_option

    return utc_option(end, "--end") if end else None


@dataclass
class Bars:
    arrays: list  # BarArrays per symbol, on one clock
    symbols: list[str]
    timeframe: str
    start: datetime
    end: datetime
    source: str = ""  # where the bars came from, with coverage and gaps (named in the report)
    times: object = None  # numpy datetime64 bar times (None: evenly spaced over [start, end))


def _bars(deps, symbols: list[str], days: float, end: str | None, data: Path | None,
          timeframe: str | None, market: str = "random") -> Bars:
    """The window's bars: stored history (named or default root), else the simulator; a
    structured `market` (trend, range, mixed: shared/market/regimes.py) is always simulated."""
    from shared.history import DEFAULT_ROOT, NoHistory
    from shared.history.catalog import catalog, require
    from shared.history.window import load_window
    from shared.optimize.data import align, window_bars

    stop = _end(end)
    root = data if data is not None else DEFAULT_ROOT
    why_not = f"no history under {root}"
    if market != "random":
        if data is not None:
            _fail(f"--market {market} simulates the bars: it cannot be combined with --data")
        why_not = f"--market {market}"
    elif data is not None or (deps.config.history.source != "simulator" and catalog(root)):
        try:
            if data is not None:
                require(data)
            win = load_window(root, deps.config.venue, symbols, days, stop, timeframe)
        except NoHistory as exc:
            if data is not None:
                _fail(str(exc))
            why_not = str(exc)
        else:
            console.print(f"bars: {win.describe()}")
            if win.missing:
                console.print(f"[yellow]left out[/yellow] (no history): "
                              f"{', '.join(f'{s} ({why})' for s, why in win.missing.items())}; "
                              f"running on {', '.join(win.symbols)}")
            from shared.backtest.report_charts import to_datetime64

            common = set.intersection(*({b.open_time for b in bars} for bars in win.bars))
            return Bars(align(win.bars), win.symbols, win.timeframe, win.start, win.end,
                        source=win.describe(), times=to_datetime64(sorted(common)))
    if timeframe not in (None, "1m"):
        _fail(f"--timeframe {timeframe}: the simulator makes 1m bars ({why_not})")
    stop = stop or datetime(2026, 1, 5, tzinfo=UTC)
    start = stop - timedelta(days=days)
    with console.status(f"simulating {len(symbols)} symbol(s), {start:%Y-%m-%d} → {stop:%Y-%m-%d}"):
        if market != "random":
            bars, source = _structured(deps, symbols, start, stop, market)
        else:
            bars, source = window_bars(history=None, market=deps.market, venue=deps.config.venue,
                                       symbols=symbols, start=start, end=stop, cfg=deps.config.history)
    console.print(f"bars: {len(bars[0])} per symbol from {source} ({why_not})")
    return Bars(bars, list(symbols), "1m", start, stop, source=source)


def _structured(deps, symbols: list[str], start: datetime, stop: datetime, market: str):
    """The simulator's bars of one venue and these symbols on a structured market."""
    from shared.market.simulator import MarketSimulator
    from shared.optimize.data import align

    cfg = deps.config.history
    venue = deps.market.venue(deps.config.venue).model_copy(update={"symbols": list(symbols), "enabled": True})
    one = deps.market.model_copy(update={"venues": [venue], "triangles": []})
    got = MarketSimulator(one, seed=cfg.simulator_seed, start=start, update_interval_s=cfg.simulator_update_s,
                          regime=market).advance(stop)
    return (align([[b for b in got if b.symbol == s] for s in symbols]),
            f"simulator (seed {cfg.simulator_seed}, {market} market)")


def _symbols_of(spec, deps, asked: list[str] | None) -> list[str]:
    from shared.handlers.optimizer import _symbols

    if not asked:
        return _symbols(spec, deps)
    unknown = [s for s in asked if s.split("/")[-1] not in {*deps.market.assets, deps.risk.portfolio.quote}]
    if unknown:
        _fail(f"--symbol {', '.join(unknown)}: its quote currency has no price in venues.yaml (assets)")
    return list(asked)


def _config(symbol: str, deps, timeframe: str):
    from shared.backtest.config import MINUTES_PER_YEAR
    from shared.handlers.optimizer import backtest_config
    from shared.history.catalog import timeframe_minutes

    cfg = backtest_config(symbol, deps)
    return cfg.model_copy(update={"bars_per_year": MINUTES_PER_YEAR / timeframe_minutes(timeframe)})


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
            _fail(f"--param {pair!r}: use NAME=VALUE")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            _fail(f"--param {pair}: {value!r} is not a number")
    return out


_CONFIG_HELP = "Configuration folder (default: ./config, else the packaged one)."
_REPORTS = Path("reports")
_DATA_HELP = ("History root (default data/history, where `data import|download|generate` write); "
              "named, it must hold the bars: never simulated.")
_END_HELP = "Window end (ISO, UTC; default: the history's last bar, or 2026-01-05 simulated)."
_TF_HELP = "Bar timeframe to read (default: the one the history has, e.g. 1m or 5m)."
_SYMBOL_HELP = "Run on this symbol instead of the strategy's (repeatable), e.g. ALT/BTC."
_VENUE_HELP = "Venue of the history and fees (default: optimizer.yaml venue)."
_MARKET_HELP = "Simulate this market instead of reading history: trend, range or mixed (docs/simulator.md)."
# the window options every research command takes (backtest, optimize, check ...)
EndOpt = Annotated[str | None, typer.Option("--end", help=_END_HELP)]
DataOpt = Annotated[Path | None, typer.Option("--data", help=_DATA_HELP)]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", help=_TF_HELP)]
SymbolOpt = Annotated[list[str] | None, typer.Option("--symbol", help=_SYMBOL_HELP)]
VenueOpt = Annotated[str | None, typer.Option("--venue", help=_VENUE_HELP)]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help=_CONFIG_HELP)]


@app.command()
def backtest(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(30.0, "--days", min=0.01, help="Window length in days."),
    end: EndOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Override a parameter: NAME=VALUE.")] = None,
    data: DataOpt = None,
    timeframe: TimeframeOpt = None,
    symbol: SymbolOpt = None,
    venue: VenueOpt = None,
    market: Annotated[MarketRegime, typer.Option("--market", help=_MARKET_HELP)] = MarketRegime.RANDOM,
    config_dir: ConfigOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Where the report is written.")] = _REPORTS,
) -> None:
    """Backtest one strategy with the live rules (next-bar fills, taker fee, slippage, sizing)."""
    from shared.backtest import compute, report, run
    from shared.strategies.registry import get_plugin

    deps = _deps(_config_dir(config_dir), venue)
    spec = _spec(deps, strategy)
    overrides = _overrides(param)
    unknown = sorted(set(overrides) - set(spec.values()))
    if unknown:
        _fail(f"--param {', '.join(unknown)}: {strategy} has no such parameter; "
              f"it has {', '.join(spec.values())}")
    params = {**spec.values(), **overrides}
    window = _bars(deps, _symbols_of(spec, deps, symbol), days, end, data, timeframe, market.value)
    plugin = get_plugin(spec.plugin)
    rows, results, votes = {}, {}, {}
    t0 = time.perf_counter()
    for sym, b in zip(window.symbols, window.arrays):
        votes[sym] = plugin.votes(b, params)
        results[sym] = run(b, votes[sym], _config(sym, deps, window.timeframe))
        rows[sym] = compute(results[sym]).to_dict(4)
    console.print(f"backtests: {len(window.symbols)} on {window.timeframe} bars in "
                  f"{time.perf_counter() - t0:.3f} s; params {params}")
    _table(f"{strategy} backtest", rows)
    page = report.backtest(out, strategy=strategy, params=params, results=results, start=window.start,
                           end=window.end, now=datetime.now(UTC), votes=votes, times=window.times,
                           source=window.source)
    console.print(f"report: [bold]{page}[/bold]")


@app.command()
def optimize(
    strategy: str = typer.Argument(..., help="Strategy name from config/strategies."),
    days: float = typer.Option(30.0, "--days", min=0.5, help="Window length in days."),
    end: EndOpt = None,
    method: str | None = typer.Option(None, "--method", help="grid | random | bayesian (default: config)."),
    trials: int | None = typer.Option(None, "--trials", help="Trials per fold (default: config)."),
    data: DataOpt = None,
    timeframe: TimeframeOpt = None,
    symbol: SymbolOpt = None,
    venue: VenueOpt = None,
    market: Annotated[MarketRegime, typer.Option("--market", help=_MARKET_HELP)] = MarketRegime.RANDOM,
    config_dir: ConfigOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Where the report is written.")] = _REPORTS,
    state: Annotated[Path | None, typer.Option(
        "--state", help="Record the job in this store (default: the newest runs/<id>/state.sqlite, if any).")] = None,
) -> None:
    """Walk-forward search of one strategy's YAML ranges; prints the job id and its verdict and
    reports the outcome. The job is recorded in a run's store, where `params approve JOB`
    applies it (nothing is applied here unless optimizer.yaml says auto_apply)."""
    from shared.backtest import report
    from shared.optimize.job import run_job
    from shared.optimize.space import Space
    from shared.strategies.registry import get_plugin

    deps = _deps(_config_dir(config_dir), venue)
    state = _job_store(state)
    search = deps.config.search.model_copy(update={k: v for k, v in (("method", method), ("trials_per_fold", trials))
                                                   if v is not None})
    cfg = deps.config.model_copy(update={"search": search})
    spec = _spec(deps, strategy)
    window = _bars(deps, _symbols_of(spec, deps, symbol), days, end, data, timeframe, market.value)
    symbols = window.symbols
    with Progress(TextColumn("[bold]walk-forward folds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("folds", total=cfg.walk_forward.folds)
        t0 = time.perf_counter()
        outcome = run_job(plugin=get_plugin(spec.plugin), space=Space.of(spec), current=spec.values(),
                          bars=window.arrays, configs=[_config(s, deps, window.timeframe) for s in symbols],
                          symbols=symbols, cfg=cfg, timer=time.perf_counter,
                          on_fold=lambda done, total: progress.update(task, completed=done, total=total))
    job_id = f"job-{uuid.uuid4().hex[:12]}"
    where = _record_job(state, deps, spec, window, outcome, job_id)
    console.print(f"job [bold]{job_id}[/bold]: [bold]{outcome.status}[/bold] in {time.perf_counter() - t0:.1f} s "
                  f"({outcome.evaluations} evaluations, {outcome.trials} trials per fold): {outcome.note}")
    if where is None:
        console.print("the job is not recorded: no run under runs/ (give --state runs/<id>/state.sqlite)")
    elif outcome.status == "recommended":
        console.print(f"recorded in {where}; apply it with: tradewinds params approve {job_id} --state {where}")
    else:
        console.print(f"recorded in {where}")
    if not outcome.current_report:
        raise typer.Exit(0 if outcome.status != "failed" else 1)
    console.print(f"current {outcome.current}  →  recommended {outcome.recommended or '(keep current)'}")
    _table(f"{strategy}: walk-forward out-of-sample", {"current": outcome.current_report,
                                                      "recommended": outcome.recommended_report})
    page = report.optimize(out, strategy=strategy, outcome=outcome, start=window.start, end=window.end,
                           now=datetime.now(UTC), job_id=job_id, symbols=symbols, times=window.times,
                           source=window.source)
    console.print(f"report: [bold]{page}[/bold]")


def _job_store(state: Path | None) -> Path | None:
    """The store `optimize` records its job in: `--state` (it must exist: checked before the
    search), else the newest runs/<id>/state.sqlite, else None."""
    if state is not None:
        if not state.is_file():
            _fail(f"--state {state}: no such file (a run's runs/<id>/state.sqlite)")
        return state
    runs = sorted(Path("runs").glob("*/state.sqlite"), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def _record_job(state: Path | None, deps, spec, window: Bars, outcome, job_id: str) -> Path | None:
    """Write the job to `optimizer_jobs/{job_id}` of a run's store the way the optimizer step
    does (shared.handlers.optimizer), so that `params approve` finds it. Returns the store's path
    (None: no store given and no run to default to)."""
    from infra.cli.params import open_store
    from shared.contracts import OptimizerRequest
    from shared.handlers.optimizer import _finish

    if state is None:
        return None
    store = open_store(state)
    body = OptimizerRequest(strategy=spec.name, reason="manual", window_start=window.start, window_end=window.end,
                            requested_by=f"cli:{os.environ.get('USER', 'unknown')}")
    with store.transaction() as tx:
        _finish(tx, deps, body, job_id, datetime.now(UTC), outcome, {"symbols": window.symbols, "source": "cli"},
                spec)
    return state
