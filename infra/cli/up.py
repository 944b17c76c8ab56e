"""`tradewinds up`: the local services as one system, until Ctrl-C (see docs/local-services.md)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Local services as one system.")

ROLES = {
    "feed": "market data: /health, /ready, /metrics",
    "executor": "trading API /v1 (bearer token), console /console, OpenAPI /docs",
    "predictor": "LSTM: POST /v1/predict, /health",
}
STEP_ROLE = "function step: Pub/Sub push at /, /health"


@app.command()
def up(
    config_dir: Annotated[Path | None, typer.Option(
        "--config", help="Configuration directory (default: ./config, else the packaged one).")] = None,
    state_dir: Annotated[Path, typer.Option(
        "--state-dir", help="Store, tokens file and logs of the local stack.")] = Path(".tradewinds/up"),
    emulators: Annotated[bool, typer.Option(
        "--emulators", help="Pub/Sub + Firestore emulators, one process per component.")] = False,
    host: Annotated[str, typer.Option("--host", help="Interface every service listens on.")] = "127.0.0.1",
    port_base: Annotated[int, typer.Option(
        "--port-base", min=0, max=65528,
        help="feed = BASE, executor +1, predictor +2, steps +3..+6; 0 = any free.")] = 8080,
    model_dir: Annotated[Path, typer.Option(
        "--model-dir", help="The predictor's LSTM model.")] = Path("artifacts/lstm"),
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1.0, help="Seconds to wait until all are healthy.")] = 90.0,
) -> None:
    """Run every service locally on one bus and store.

    Feed, executor, predictor (with the ml extra and a model) and the four function steps,
    each on its own port, until Ctrl-C.
    """
    from infra.cli.paths import config_dir as resolve_config
    from infra.local.stack import LocalStack, StackError
    from shared.errors import ConfigError

    try:
        config = resolve_config(config_dir)
    except ConfigError as exc:
        typer.echo(f"tradewinds up: {exc}", err=True)
        raise typer.Exit(2) from None
    stack = LocalStack(config_dir=config.resolve(), state_dir=state_dir.resolve(), host=host,
                       port_base=port_base, emulators=emulators, model_dir=model_dir.resolve())
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` unwinds like Ctrl-C: children are stopped
    try:
        stack.start(timeout=timeout)
    except StackError as exc:
        typer.echo(f"tradewinds up: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped before everything was up", err=True)
        raise typer.Exit(130) from None
    try:
        _announce(stack)
        while True:
            stack.check_children()
            time.sleep(0.5)
    except StackError as exc:
        typer.echo(f"tradewinds up: {exc}; stopping everything", err=True)
        code = 1
    except KeyboardInterrupt:
        code = 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
    typer.echo("stopping ...")
    stack.stop()
    typer.echo("stopped")
    raise typer.Exit(code)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _announce(stack) -> None:
    lines = [f"tradewinds up: one system on {stack.describe()}"]
    for name in ("feed", "executor", "predictor", "signal", "risk", "notification", "optimizer"):
        if name in stack.ports:
            lines.append(f"  {name:<13} {stack.url(name):<24} {ROLES.get(name, STEP_ROLE)}")
        elif name == "predictor":
            lines.append(f"  {name:<13} skipped: {stack.predictor_note}; no LSTM voter")
    lines += [f"dev tokens (new at every start; also in {stack.tokens_path}, mode 0600):",
              f"  admin  {stack.tokens['admin']}", f"  read   {stack.tokens['read']}",
              (f'  e.g. . {stack.tokens_path} && curl -H "Authorization: Bearer $TW_READ_TOKEN" '
               f"{stack.url('executor')}/v1/positions"),
              "pids: " + " ".join(f"{c.name}={c.proc.pid}" for c in stack.children),
              f"logs: {stack.state_dir / 'logs'}",
              "Ctrl-C stops everything."]
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    app()
