"""`tradewinds params ...`: approve / reject optimizer jobs, roll back, list versions.

Operates on a store: `--state runs/<id>/state.sqlite` (default: the newest run under
runs/), or Firestore when TW_STORE=firestore (GOOGLE_CLOUD_PROJECT; the emulator honours
FIRESTORE_EMULATOR_HOST). Every change is a new parameter version, audited. A replay or
service running on that store uses it from its next bar: the signal step reads
`params/{strategy}` on every bar (the reload_params Control is printed for the record).
A decision on a replay's store is dated at the replay's clock (the minute it stopped or is
paused at, `state/replay`), so its audit trail stays in order; elsewhere at the wall clock.

Bad input (an unknown strategy or job, a missing state) is one line on stderr and exit 2
(`failures.Failure`).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from infra.cli import paths
from infra.cli.failures import Failure

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
            raise Failure(f"no run found under {runs_dir}/: give --state runs/<id>/state.sqlite")
        state = runs[-1]
    if not state.exists():
        raise Failure(f"--state {state}: no such file")
    return SqliteStore(state)


def decided_at(store) -> datetime:
    """When a decision taken now is recorded: the replay's clock on a replay's store (a paused
    replay resumes after it), else the wall clock."""
    from infra.cli.console import replay_clock

    return replay_clock(store).now()


def _specs(config_dir: Path | None) -> dict:
    from shared.strategies.config import load_strategies

    return {s.name: s for s in load_strategies(paths.config_dir(config_dir) / "strategies")}


def _baseline(strategy: str, config_dir: Path | None) -> dict[str, float] | None:
    spec = _specs(config_dir).get(strategy)
    return spec.values() if spec else None


def _known(store, strategy: str, config_dir: Path | None) -> None:
    """A strategy is known when the configuration has it or the store has versions of it."""
    specs = _specs(config_dir)
    if strategy in specs or store.get("params", strategy) is not None:
        return
    raise Failure(f"unknown strategy {strategy!r}; known: {', '.join(sorted(specs)) or '(none)'}")


StateOpt = typer.Option(None, "--state", help="A state.sqlite (default: the newest runs/<id>/state.sqlite).")
ConfigOpt = typer.Option(None, "--config", help="Configuration folder (default: ./config, else the packaged one).")
NEXT_BAR = ("a replay or service running on this store uses it from its next bar "
            "(the signal step reads the parameters on every bar)")


def _fail(exc: Exception) -> None:
    raise Failure(str(exc))


@app.command()
def approve(job: str = typer.Argument(..., help="Optimizer job id, e.g. job-1a2b3c4d5e6f."),
            state: Path | None = StateOpt,
            config_dir: Path | None = ConfigOpt) -> None:
    """Apply a recommended job's parameters as a new version; a running replay or service
    uses it from its next bar."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    doc = store.get("optimizer_jobs", job) or {}
    try:
        with store.transaction() as tx:
            applied = versions.approve(tx, job, actor=_actor(), at=decided_at(store),
                                       baseline=_baseline(doc.get("strategy", ""), config_dir))
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[green]approved[/green] {job}: {applied.strategy} is now v{applied.version} {applied.values}")
    console.print(f"{NEXT_BAR}; control: {applied.control.command.value} {applied.control.args}")


@app.command()
def reject(job: str = typer.Argument(...), state: Path | None = StateOpt,
           reason: str = typer.Option("", "--reason")) -> None:
    """Discard a recommended job."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    try:
        with store.transaction() as tx:
            versions.reject(tx, job, actor=_actor(), at=decided_at(store), reason=reason)
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[yellow]rejected[/yellow] {job}")


@app.command()
def rollback(strategy: str = typer.Argument(...),
             to: int | None = typer.Option(None, "--to", help="Version to restore (default: the previous; 0 = YAML)."),
             state: Path | None = StateOpt,
             config_dir: Path | None = ConfigOpt) -> None:
    """Make an earlier version current again (recorded as a new version)."""
    from shared.params import ParamsError, versions

    store = open_store(state)
    _known(store, strategy, config_dir)
    try:
        with store.transaction() as tx:
            applied = versions.rollback(tx, strategy, actor=_actor(), at=decided_at(store), to=to,
                                        baseline=_baseline(strategy, config_dir))
    except ParamsError as exc:
        _fail(exc)
    console.print(f"[green]rolled back[/green] {strategy} -> v{applied.version} {applied.values}")
    console.print(NEXT_BAR)


@app.command("list")
def list_versions(strategy: str = typer.Argument(...), state: Path | None = StateOpt,
                  config_dir: Path | None = ConfigOpt) -> None:
    """Every version of a strategy's parameters, and its optimizer jobs."""
    from shared.params import versions

    store = open_store(state)
    _known(store, strategy, config_dir)
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
