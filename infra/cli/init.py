"""`tradewinds init DIR`: an editable copy of the default configuration in DIR/config."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from infra.cli import paths

app = typer.Typer(help="Project set-up.")
HERE = Path(".")


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="Project folder; the copy goes to FOLDER/config.")] = HERE,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing FOLDER/config."),
) -> None:
    """Write an editable copy of the default configuration to FOLDER/config.

    Commands run inside FOLDER use it (./config); elsewhere pass --config FOLDER/config."""
    target = folder / "config"
    if target.exists() and not force:
        raise typer.BadParameter(f"{target} exists (use --force to overwrite it)", param_hint="FOLDER")
    source = paths.packaged()
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.yaml"))
    typer.echo(f"wrote {len(files)} configuration files to {target}: {', '.join(files)}")
    typer.echo(f"edit them, then run `tradewinds run` inside {folder} (or pass --config {target})")
