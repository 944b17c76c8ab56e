"""The `tradewinds` command line."""

from __future__ import annotations

import importlib
from dataclasses import replace
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared import logs
from shared.errors import ConfigError

app = typer.Typer(help="Tradewinds: serverless crypto trading on Google Cloud, runnable on one machine.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
dlq_app = typer.Typer(help="List and requeue dead-lettered messages of a run.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()

# Sub-apps contributed by other modules: (module, name, help)
_SUBAPPS = (
    ("infra.cli.data", "data", "Bar history: generate from the simulator, download via ccxt."),
    ("infra.cli.ml", "ml", "Train and evaluate the LSTM."),
    ("infra.cli.deploy", "deploy", "Deployment: dry-run plan of what Terraform creates."),
    ("infra.cli.params", "params", "Strategy parameters: approve, reject, rollback."),
    ("infra.cli.research", None, "Backtests and optimisation."),
    ("infra.cli.console", None, "Operator console over a replay (read-only)."),
)


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
    logs.configure(pretty=pretty, level=log_level.upper())


@app.command()
def run(
    hours: float = typer.Option(24.0, "--hours", min=0.0167, max=24 * 30, help="Simulated hours to replay."),
    seed: int = typer.Option(7, "--seed", help="Market simulator seed (same seed, same market)."),
    venues: list[str] | None = typer.Option(None, "--venues", help="Venues to use (default: all enabled)."),
    config_dir: Path = typer.Option(Path("config"), "--config", help="Configuration directory."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where runs/<id>/ is written."),
    crash: str | None = typer.Option(None, "--crash", help="Plant a crash: ASSET:HOURS:PCT, e.g. BTC:3:15."),
    emulators: bool = typer.Option(False, "--emulators", help="Run through the Pub/Sub and Firestore emulators."),
    arbitrage: bool = typer.Option(True, "--arbitrage/--no-arbitrage", help="Run the arbitrage scanner."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue run RUN_ID for --hours more (its seed, venues and crash)."),
    predictor: str | None = typer.Option(
        None, "--predictor", help="URL of a running LSTM predictor (python -m runtime.predictor); default: no LSTM voter."),
    show_notifications: bool = typer.Option(False, "--show-notifications", help="Print the hourly summaries sent."),
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
                    config_dir=config_dir, runs_dir=runs_dir, crash=planted, predictor=predictor,
                    arbitrage=arbitrage)
    if resume:
        if emulators:
            raise typer.BadParameter("a run on the emulators cannot be resumed", param_hint="--resume")
        cfg = replace(cfg, run_id=resume, resume=True)
    if emulators:
        from infra.local.emulator_stack import EmulatorPipeline as Pipeline
    else:
        from infra.local.pipeline import LocalPipeline as Pipeline
    try:
        pipeline = Pipeline(cfg)
    except (ConfigError, ValueError, KeyError) as exc:
        console.print(f"[red]cannot start the replay:[/red] {exc}")
        raise typer.Exit(2) from None
    total = int(round(hours * 60))
    with Progress(TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(), TextColumn("sim minutes"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("replay", total=total)
        pipeline.run(on_minute=lambda n: progress.update(task, completed=n))
    result = run_summary.build(pipeline)
    path = run_summary.write(result, cfg.run_dir)
    if show_notifications:
        _print_notifications(cfg.run_dir)
    _print_summary(result)
    console.print(f"summary written to [bold]{path}[/bold]")


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
    table = Table(title=f"Run {s['run_id']} — {s['hours']} h, seed {s['seed']}", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("bars processed", s["bars_processed"]), ("signals", s["signals"]),
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


def _open_run(run: str, runs_dir: Path):
    from shared.adapters.local.sqlite_store import SqliteStore

    path = runs_dir / run / "state.sqlite" if not run.endswith(".sqlite") else Path(run)
    if not path.exists():
        raise typer.BadParameter(f"no state at {path}", param_hint="RUN")
    return SqliteStore(path)


@dlq_app.command("list")
def dlq_list(
    run: str = typer.Argument(..., help="Run id under runs/ (or a state.sqlite path)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per dead letter (for scripts)."),
) -> None:
    """List dead-lettered messages with their reason."""
    store = _open_run(run, runs_dir)
    if as_json:
        for key, doc in store.query("dlq", order_by="dead_at"):
            typer.echo(json.dumps({"key": key, **{k: v for k, v in doc.items() if k != "envelope"}}))
        return
    table = Table("key", "subscription", "type", "attempts", "reason", "status")
    for key, doc in store.query("dlq", order_by="dead_at"):
        table.add_row(key, doc["subscription"], doc["type"], str(doc["attempts"]), doc["reason"][:80], doc["status"])
    console.print(table)


@dlq_app.command("requeue")
def dlq_requeue(
    run: str = typer.Argument(..., help="Run id under runs/ (or a state.sqlite path)."),
    key: list[str] | None = typer.Option(None, "--key", help="Only these keys or message ids (default: all)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir"),
    config_dir: Path = typer.Option(Path("config"), "--config"),
) -> None:
    """Deliver dead letters again to their subscription's handler and report the outcome."""
    from infra.local.pipeline import LocalPipeline, RunConfig

    store = _open_run(run, runs_dir)
    cfg = RunConfig(hours=0, config_dir=config_dir, runs_dir=runs_dir, run_id=run,
                    resume=store.get("state", "replay") is not None)
    pipeline = LocalPipeline(cfg, store=store)
    count = pipeline.bus.requeue(list(key) if key else None)
    pipeline.bus.drain()
    pipeline.flush()
    still = len(store.query("dlq", [("status", "==", "dead")]))
    console.print(f"requeued {count} message(s); {still} dead letter(s) remain")


_mount()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
