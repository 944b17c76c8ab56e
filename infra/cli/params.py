"""`tradewinds params ...`: approve / reject optimizer jobs, roll back, list versions.

Operates on a store: `--state runs/<id>/state.sqlite` (default: the newest run under
runs/), or Firestore when TW_STORE=firestore (GOOGLE_CLOUD_PROJECT; the emulator honours
FIRESTORE_EMULATOR_HOST). Every change is a new parameter version, audited; the
reload_params Control is printed (and published by the running system's next bar read:
the signal step reads `params/{strategy}` on every bar).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Strategy parameters: approve, reject, rollback, list.", no_args_is_help=True)
console = Console()


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


def open_store(state: Path | None, runs_dir: Path = Path("runs")):
    if os.environ.get("TW_STORE") == "firestore":
        from shared.adapters.gcp.firestore_store import FirestoreStore

        return FirestoreStore(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "tradewinds-local"))
    from shared.adapters.local.sqlite_store import SqliteStore

    if state is None:
        runs = sorted(runs_dir.glob("*/state.sqlite"), key=lambda p: p.stat().st_mtime)
        if not runs:
            raise typer.BadParameter(f"no run found under {runs_dir}/ (give --state)", param_hint="--state")
        state = runs[-1]
    if not state.exists():
        raise typer.BadParameter(f"no state at {state}", param_hint="--state")
    return SqliteStore(state)


def _baseline(strategy: str, config_dir: Path) -> dict[str, float] | None:
    from shared.strategies.config import load_strategies

    spec = next((s for s in load_strategies(config_dir / "strategies") if s.name == strategy), None)
    return spec.values() if spec else None


StateOpt = typer.Option(None, "--state", help="A state.sqlite (default: the newest runs/<id>/state.sqlite).")


def _fail(exc: Exception) -> None:
    console.print(f"[red]{exc}[/red]")
    raise typer.Exit(1)


@app.command()
def approve(job: str = typer.Argument(..., help="Optimizer job id, e.g. job-1a2b3c4d5e6f."),
            state: Path | None = StateOpt,
            config_dir: Path = typer.Option(Path("config"), "--config")) -> None:
    """Apply a recommended job's parameters as a new version."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    doc = store.get("optimizer_jobs", job) or {}
    try:
        with store.transaction() as tx:
            applied = versions.approve(tx, job, actor=_actor(), at=datetime.now(UTC),
                                       baseline=_baseline(doc.get("strategy", ""), config_dir))
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[green]approved[/green] {job}: {applied.strategy} is now v{applied.version} {applied.values}")
    console.print(f"control: {applied.control.command.value} {applied.control.args}")


@app.command()
def reject(job: str = typer.Argument(...), state: Path | None = StateOpt,
           reason: str = typer.Option("", "--reason")) -> None:
    """Discard a recommended job."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    try:
        with store.transaction() as tx:
            versions.reject(tx, job, actor=_actor(), at=datetime.now(UTC), reason=reason)
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[yellow]rejected[/yellow] {job}")


@app.command()
def rollback(strategy: str = typer.Argument(...),
             to: int | None = typer.Option(None, "--to", help="Version to restore (default: the previous; 0 = YAML)."),
             state: Path | None = StateOpt,
             config_dir: Path = typer.Option(Path("config"), "--config")) -> None:
    """Make an earlier version current again (recorded as a new version)."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    try:
        with store.transaction() as tx:
            applied = versions.rollback(tx, strategy, actor=_actor(), at=datetime.now(UTC), to=to,
                                        baseline=_baseline(strategy, config_dir))
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[green]rolled back[/green] {strategy} -> v{applied.version} {applied.values}")


@app.command("list")
def list_versions(strategy: str = typer.Argument(...), state: Path | None = StateOpt) -> None:
    """Every version of a strategy's parameters, and its optimizer jobs."""
    from shared.params import versions

    store = open_store(state)
    cur = store.get("params", strategy) or {}
    table = Table("version", "source", "values", "actor", "at", "job", "restores",
                  title=f"{strategy} (current v{cur.get('version', 0)})")
    for v in versions.history(store, strategy):
        mark = " *" if v["version"] == cur.get("version") else ""
        table.add_row(f"v{v['version']}{mark}", v["source"], str(v["values"]), str(v.get("actor")),
                      str(v.get("at")), str(v.get("job_id") or ""),
                      "" if v.get("restores") is None else f"v{v['restores']}")
    console.print(table)
    jobs = Table("job", "status", "reason", "note", title="optimizer jobs")
    for job_id, job in store.query("optimizer_jobs", [("strategy", "==", strategy)], order_by="created_at"):
        jobs.add_row(job_id, job.get("status", ""), job.get("reason", ""), (job.get("note") or "")[:80])
    console.print(jobs)
