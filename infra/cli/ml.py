"""`tradewinds ml train|evaluate`: fit the LSTM scorer and report it against a naive baseline.

    tradewinds ml train --data sim --days 14 --seed 7 --out artifacts/lstm
    tradewinds ml train --data synthetic --days 5            # generated lead-lag venues
    tradewinds ml train --data path/to/parquet --days 30     # stored bars
    tradewinds ml evaluate --model artifacts/lstm            # same data source and seed
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.clock import WallClock
from shared.errors import ConfigError
from shared.ml.artifact import read_metadata
from shared.ml.config import load_ml_config
from shared.ml.report import render_reliability, render_table
from shared.ml.sources import load_series

app = typer.Typer(help="Train and evaluate the LSTM scorer.", no_args_is_help=True)
console = Console()


def _pipeline():
    """The TensorFlow side, with a clear message when the `ml` extra is not installed."""
    import importlib.util

    missing = [m for m in ("tensorflow", "keras") if importlib.util.find_spec(m) is None]
    if missing:
        console.print(f"[red]{' and '.join(missing)} not installed.[/red] Install the ML extra: "
                      "`.venv/bin/pip install -e '.\\[ml]'` (or `make install-dev`).")
        raise typer.Exit(2)
    from shared.ml import pipeline

    return pipeline


@app.command()
def train(
    data: Annotated[str, typer.Option(help="'sim', 'synthetic[:random_walk]' or a parquet dir")]
    = "sim",
    days: Annotated[float, typer.Option(min=0.01, help="days of bars to use")] = 7.0,
    seed: Annotated[int, typer.Option(help="seed of the data source and the network")] = 7,
    out: Annotated[Path, typer.Option(help="artifact directory")] = Path("artifacts/lstm"),
    config: Annotated[Path | None, typer.Option(help="ML config (default config/ml.yaml)")]
    = None,
) -> None:
    """Fit on the chronological train part with early stopping on validation; report on test."""
    cfg = _config(config)
    with console.status(f"loading {days:g} days of bars from {data} ..."):
        series = _series(data, days, seed, cfg.features)
    train_artifact = _pipeline().train_artifact  # imports TensorFlow when it runs

    progress = Progress(
        TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), console=console,
    )
    with progress:
        task = progress.add_task("fit", total=cfg.model.max_epochs, losses="")

        def on_epoch(epoch: int, logs: dict) -> None:
            progress.update(task, completed=epoch, losses=(
                f"loss {logs.get('loss', float('nan')):.4f} "
                f"val {logs.get('val_loss', float('nan')):.4f}"))

        try:
            trained = train_artifact(
                series, cfg, out, created_at=WallClock().now(), source=data, seed=seed,
                days=days, on_epoch=on_epoch,
            )
        except ValueError as e:
            raise _fail(str(e)) from e
        meta, report = trained.meta, trained.report
        progress.update(task, total=meta.fit["epochs_run"], completed=meta.fit["epochs_run"])
    console.print(f"stopped after {meta.fit['epochs_run']} epochs "
                  f"(best {meta.fit['best_epoch']}, val loss {meta.fit['best_val_loss']:.4f})")
    console.print(render_table(report, "test"))
    console.print(render_reliability(report, "test"))
    console.print(f"[green]saved[/] {meta.version} → {out} (weights.npz, metadata.json, "
                  f"report.json)")


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="artifact directory")] = Path("artifacts/lstm"),
    data: Annotated[str | None, typer.Option(help="data source (default: the training one)")]
    = None,
    days: Annotated[float | None, typer.Option(help="days (default: the training window)")]
    = None,
    seed: Annotated[int | None, typer.Option(help="seed (default: the training one)")] = None,
    out: Annotated[Path | None, typer.Option(help="report JSON (default <model>/evaluation.json)")]
    = None,
) -> None:
    """Re-run the report of a saved model on the test part of its (or the given) data."""
    try:
        meta = read_metadata(model)
    except ConfigError as e:
        raise _fail(str(e)) from e
    t = meta.training
    source, n_days, n_seed = data or t.source, days or t.days, t.seed if seed is None else seed
    if n_days is None:
        raise _fail("the artifact does not record its training days: pass --days")
    with console.status(f"loading {n_days:g} days of bars from {source} ..."):
        series = _series(source, n_days, n_seed, meta.features)
    evaluate_artifact = _pipeline().evaluate_artifact

    try:
        report = evaluate_artifact(model, series)
    except ValueError as e:
        raise _fail(str(e)) from e
    console.print(render_table(report, "test"))
    console.print(render_reliability(report, "test"))
    path = _write(out or model / "evaluation.json", report)
    console.print(f"model {meta.version}: report written to {path}")


def _config(path: Path | None):
    try:
        from infra.cli import paths

        return load_ml_config(path or paths.config_dir(None) / "ml.yaml")
    except ConfigError as e:
        raise _fail(str(e)) from e


def _series(data: str, days: float, seed: int, spec):
    try:
        return load_series(data, days, seed, spec)
    except ConfigError as e:
        raise _fail(str(e)) from e


def _write(path: Path, report: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    from shared.ml.artifact import json_safe

    path.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    return path


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code=2)
