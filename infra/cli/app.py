"""The `tradewinds` command line."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.cli import failures, paths
from shared import logs
from shared.errors import ConfigError
from shared.market.regimes import MarketRegime

# rich_markup_mode=None: click's plain help, which wraps at the terminal's width (80 columns
# included) and never cuts an option's name; the sub-apps inherit it
app = typer.Typer(help="Tradewinds: serverless crypto trading on Google Cloud, runnable on one machine.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False, rich_markup_mode=None)
dlq_app = typer.Typer(help="List and requeue dead-lettered messages of a run.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()
err_console = Console(stderr=True)

# Sub-apps contributed by other modules: (module, name, help)
_SUBAPPS = (
    ("infra.cli.data", "data", "Bar history: generate (simulator), import (CSV, FreqTrade files), download (ccxt)."),
    ("infra.cli.ml", "ml", "Train and evaluate the LSTM."),
    ("infra.cli.deploy", "deploy", "Deployment: dry-run plan of what Terraform creates."),
    ("infra.cli.params", "params", "Strategy parameters: approve, reject, rollback."),
    ("infra.cli.research", None, "Backtests and optimisation."),
    ("infra.cli.console", None, "Operator console over a replay (read-only)."),
    ("infra.cli.show", None, "Show a run's books."),
    ("infra.cli.init", None, "Write an editable copy of the default configuration."),
    ("infra.cli.up", None, "Local services as one system."),
    ("infra.cli.check", "check", "Bias checks of a strategy: look-ahead, warm-up (recursive), parity."),
)
CONFIG_HELP = "Configuration folder (default: ./config if there, else the packaged one)."
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
RUNS = Path("runs")
MARKET_HELP = ("Simulated market: random (pure random walk), trend, range (mean reversion) or mixed "
               "(switching trend/range/high volatility); see docs/simulator.md.")


def _mount() -> None:
    for module, name, help_text in _SUBAPPS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("infra.cli"):
                continue
            raise
        if name is None:
            for command in mod.app.registered_commands:
                app.registered_commands.append(command)
        else:
            app.add_typer(mod.app, name=name, help=help_text)


@app.callback()
def main_options(
    pretty: bool = typer.Option(False, "--pretty", help="Human-readable logs instead of Cloud Logging JSON."),
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    if log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"{log_level!r}: use one of {', '.join(LOG_LEVELS)}", param_hint="--log-level")
    logs.configure(pretty=pretty, level=log_level.upper())


@app.command()
def run(
    hours: float = typer.Option(24.0, "--hours", min=0.0167, max=24 * 30, help="Simulated hours to replay."),
    seed: int = typer.Option(7, "--seed", help="Market simulator seed (same seed, same market)."),
    venues: Annotated[list[str] | None, typer.Option(
        "--venues", help="Venues to use (default: all enabled).")] = None,
    config_dir: Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP)] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where runs/<id>/ is written.")] = RUNS,
    crash: str | None = typer.Option(None, "--crash", help="Plant a crash: ASSET:HOURS:PCT, e.g. BTC:3:15."),
    emulators: bool = typer.Option(False, "--emulators", help="Run through the Pub/Sub and Firestore emulators."),
    arbitrage: bool = typer.Option(True, "--arbitrage/--no-arbitrage", help="Run the arbitrage scanner."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue run RUN_ID for --hours more (its seed, venues and crash)."),
    predictor: str | None = typer.Option(
        None, "--predictor", help="URL of a running LSTM predictor (python -m runtime.predictor); default: no LSTM voter."),
    show_notifications: bool = typer.Option(False, "--show-notifications", help="Print the hourly summaries sent."),
    data: Annotated[Path | None, typer.Option(
        "--data", help="Replay this history root's 1-minute bars (e.g. data/history), not the simulator.")] = None,
    market: Annotated[MarketRegime, typer.Option("--market", help=MARKET_HELP)] = MarketRegime.RANDOM,
) -> None:
    """Replay N simulated hours through every step and print a summary."""
    from infra.local import summary as run_summary
    from infra.local.pipeline import RunConfig

    planted = None
    if crash:
        try:
            asset, at_h, pct = crash.split(":")
            planted = (asset.upper(), float(at_h), float(pct) / 100)
        except ValueError:
            raise typer.BadParameter("use ASSET:HOURS:PCT, e.g. BTC:3:15", param_hint="--crash") from None
        if not (0 < planted[2] < 1 and 0 <= planted[1] < hours):
            raise typer.BadParameter("PCT must be in (0, 100) and HOURS inside the replay", param_hint="--crash")
    cfg = RunConfig(hours=hours, seed=seed, venues=list(venues) if venues else None,
                    config_dir=paths.config_dir(config_dir), runs_dir=runs_dir, crash=planted,
                    predictor=predictor, arbitrage=arbitrage, data=data, market_regime=market.value)
    if resume:
        if emulators:
            raise typer.BadParameter("a run on the emulators cannot be resumed", param_hint="--resume")
        if not (runs_dir / resume / "state.sqlite").is_file():
            raise typer.BadParameter(f"no run {resume!r} in {runs_dir} to resume", param_hint="--resume")
        cfg = replace(cfg, run_id=resume, resume=True)
    if predictor:
        from shared.signals.lstm_report import probe

        warning = probe(predictor)
        if warning:
            err_console.print(f"[yellow]warning:[/yellow] {warning}; the run goes on without the LSTM voter", soft_wrap=True)
    if emulators:
        from infra.local.emulator_stack import EmulatorPipeline as Pipeline
    else:
        from infra.local.pipeline import LocalPipeline as Pipeline
    fresh = not cfg.run_dir.exists()  # a new run that fails leaves no half-made runs/<id>/
    try:
        try:
            pipeline = Pipeline(cfg)
        except (ConfigError, ValueError, KeyError) as exc:
            raise failures.Failure(f"cannot start the replay: {failures.one_line(exc)}") from None
        if data is not None:  # which stored pairs it replays, and which it left out
            console.print(f"history: {pipeline.sim.note}")
        total = round(hours * 60)
        with Progress(TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(), TextColumn("sim minutes"),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            task = progress.add_task("replay", total=total)
            pipeline.run(on_minute=lambda n: progress.update(task, completed=n))
    except Exception:
        if fresh:
            shutil.rmtree(cfg.run_dir, ignore_errors=True)
        raise
    result = run_summary.build(pipeline)
    path = _write_summaries(result, cfg.run_dir)
    from infra.local import run_report

    page = run_report.write(pipeline.store, cfg.run_dir, quote=result["quote"], lstm_configured=bool(predictor))
    if show_notifications:
        _print_notifications(cfg.run_dir)
    _print_summary(result)
    console.print(f"summary written to [bold]{path}[/bold]; report: [bold]{page}[/bold]")


def _write_summaries(result: dict, run_dir: Path) -> Path:
    """summary-<n>.json for the n-th segment of the run (a first replay, then each --resume) and
    summary.json for the latest, with the segments' total hours."""
    segments = sorted(run_dir.glob("summary-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    earlier = [json.loads(p.read_text()) for p in segments]
    latest = run_dir / "summary.json"
    if not earlier and latest.is_file():  # a run made before segments were kept: its one summary
        earlier = [json.loads(latest.read_text())]
        (run_dir / "summary-1.json").write_text(latest.read_text())
    result["segment"] = result["segments"] = len(earlier) + 1
    result["total_hours"] = round(sum(float(s["hours"]) for s in earlier) + float(result["hours"]), 4)
    text = json.dumps(result, indent=2, default=str)
    (run_dir / f"summary-{result['segment']}.json").write_text(text)
    latest.write_text(text)
    return latest


def _print_notifications(run_dir: Path) -> None:
    path = run_dir / "notifications.jsonl"
    if not path.exists():
        console.print("[yellow]no notifications were written[/yellow]")
        return
    for line in path.read_text().splitlines():
        item = json.loads(line)
        if item.get("kind") in ("hourly_summary", "daily_report", "risk_alert"):
            console.rule(f"{item.get('kind')} {item.get('created_at', '')}")
            console.print(item.get("rendered") or item.get("text") or item)


def _print_summary(s: dict) -> None:
    span = f"{s['hours']} h"
    if s.get("segments", 1) > 1:
        span = f"segment {s['segment']}: {s['hours']} h, {s['total_hours']} h in all"
    table = Table(title=f"Run {s['run_id']} — {span}, seed {s['seed']}", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("bars processed", s["bars_processed"]), ("signals", s["signals"]),
        ("LSTM", s["lstm"]["line"].removeprefix("LSTM: ")),
        ("orders approved", s["orders_approved"]), ("orders denied", s["orders_denied"]),
    ]
    rows += [(f"  denied: {k}", v) for k, v in s["denied_by_reason"].items()]
    rows += [
        ("fills (all)", s["fills"]),
        ("arbitrage executed / fills", f"{s['arbitrage_executed']} / {s['arbitrage_fills']}"),
        ("arbitrage near misses", sum(s["near_misses_by_reason"].values())),
    ]
    rows += [(f"  missed: {k}", v) for k, v in s["near_misses_by_reason"].items()]
    q = s.get("quote", "USDT")
    start = ", ".join(f"{v} {a}" for a, v in s["start_balances"].items())
    rows += [
        ("start capital", f"{start} = {s['start_capital_usd']} {q}"),
        (f"end NAV ({q})", s["end_nav_usd"]),
        (f"total PnL, net of every cost ({q})", s["total_pnl_usd"]),
        ("return on start capital", f"{s['return_pct']}%"),
        (f"buy and hold ({q})", f"{s['buy_and_hold_usd']} ({s['buy_and_hold_return_pct']}%)"),
    ]
    rows += [(f"  from {k}", v) for k, v in s["attribution_usd"].items()]
    rows += [
        (f"trading fees ({q})", s["costs"]["trading_fees_usd"]),
        (f"transfer fees ({q}), {s['costs']['transfers']} transfers", s["costs"]["transfer_fees_usd"]),
        (f"swept to cold wallet ({q})", s["costs"]["swept_to_cold_usd"]),
        ("closed trades (strategy / arbitrage)",
         f"{s['closed_trades']} ({s['strategy_trades']} / {s['arbitrage_trades']})"),
        ("win rate", "n/a" if s["win_rate"] is None else f"{s['win_rate']:.1%}"),
        (f"max drawdown of PnL ({q})", s["max_drawdown_usd"]),
        ("notifications sent", s["notifications_sent"]), ("DLQ count", s["dlq_count"]),
        ("halted", f"yes — {s['halt_cause']}" if s["halted"] else "no"),
        ("ledger = fills − fees", "consistent" if s["ledger_consistent"] else "MISMATCH"),
        ("balances = start + flows", "reconciled" if s["balances_consistent"] else "MISMATCH"),
    ]
    for k, v in rows:
        table.add_row(k, str(v))
    console.print(table)
    if s.get("strategies"):  # live / warming up / standing aside, and why (config/signals.yaml)
        states = Table("strategy", "state", "paper trades", "why", title="Strategies (the ensemble's gate)")
        for name, v in s["strategies"].items():
            states.add_row(name, v["state"].replace("_", " "), str(v["paper_trades"]), v["why"])
        console.print(states)


def _open_run(run: str, runs_dir: Path):
    from shared.adapters.local.sqlite_store import SqliteStore

    path = runs_dir / run / "state.sqlite" if not run.endswith(".sqlite") else Path(run)
    if not path.exists():
        raise typer.BadParameter(f"no state at {path}", param_hint="RUN")
    return SqliteStore(path)


@dlq_app.command("list")
def dlq_list(
    run: str = typer.Argument(..., help="Run id under runs/ (or a state.sqlite path)."),
    runs_dir: Annotated[Path, typer.Option("--runs-dir")] = RUNS,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per dead letter (for scripts)."),
) -> None:
    """List dead-lettered messages with their reason."""
    store = _open_run(run, runs_dir)
    if as_json:
        for key, doc in store.query("dlq", order_by="dead_at"):
            typer.echo(json.dumps({"key": key, **{k: v for k, v in doc.items() if k != "envelope"}}))
        return
    letters = store.query("dlq", order_by="dead_at")
    if not letters:
        console.print(f"no dead letters in run {run}")
        return
    table = Table("key", "subscription", "type", "attempts", "reason", "status")
    for key, doc in letters:
        table.add_row(key, doc["subscription"], doc["type"], str(doc["attempts"]), doc["reason"][:80], doc["status"])
    console.print(table)


@dlq_app.command("requeue")
def dlq_requeue(
    run: str = typer.Argument(..., help="Run id under runs/ (or a state.sqlite path)."),
    key: Annotated[list[str] | None, typer.Option(
        "--key", help="Only these keys or message ids (default: all).")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir")] = RUNS,
    config_dir: Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP)] = None,
) -> None:
    """Deliver dead letters again to their subscription's handler and report the outcome."""
    from infra.local.pipeline import LocalPipeline, RunConfig

    store = _open_run(run, runs_dir)
    cfg = RunConfig(hours=0, config_dir=paths.config_dir(config_dir), runs_dir=runs_dir, run_id=run,
                    resume=store.get("state", "replay") is not None)
    pipeline = LocalPipeline(cfg, store=store)
    count = pipeline.bus.requeue(list(key) if key else None)
    pipeline.bus.drain()
    pipeline.flush()
    still = len(store.query("dlq", [("status", "==", "dead")]))
    console.print(f"requeued {count} message(s); {still} dead letter(s) remain")


_mount()


def main() -> None:
    """The `tradewinds` script: bad input is one line on stderr and exit 2 (`failures.run`)."""
    sys.exit(failures.run(app))


if __name__ == "__main__":
    main()
