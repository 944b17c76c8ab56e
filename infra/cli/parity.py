"""`tradewinds check parity STRATEGY`: does the replay trade as the backtest says?

Replays STRATEGY alone (the ensemble's gate and the arbitrage off) for --hours of the seeded
market, backtests the very bars it saw with the same parameters and fill model, and prints
every leg, bar for bar: matched legs with their fill-price and size gaps, and each difference
with its cause (shared/backtest/parity.py says what "agree" means). Exit 0 when replay and
backtest agree (every difference explained), 1 when a difference has no explanation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.cli import paths
from infra.cli.failures import Failure
from shared.backtest.parity import Comparison, Leg
from shared.backtest.parity_run import Parity, run_parity

CONFIG_HELP = "Configuration folder (default: ./config if there, else the packaged one)."


def parity_command(
    strategy: Annotated[str, typer.Argument(metavar="STRATEGY", help="A strategy instance (config/strategies).")],
    hours: Annotated[float, typer.Option("--hours", min=0.05, max=240, help="Simulated hours to replay.")] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Market simulator seed.")] = 7,
    config: Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP)] = None,
) -> None:
    """Replay one strategy and backtest the same bars: same entries and exits, or a cause for each difference."""
    config_dir, console = paths.config_dir(config), Console()
    with tempfile.TemporaryDirectory(prefix="tw-parity-") as work:
        try:
            with console.status(f"Replaying {strategy} for {hours:g} h (seed {seed}), then backtesting"):
                result = run_parity(strategy, hours, seed, config_dir, workdir=Path(work))
        except ValueError as exc:
            raise Failure(str(exc)) from exc
    raise typer.Exit(render(result, console))


def render(result: Parity, console: Console) -> int:
    """Print the comparison; the exit code: 1 when a difference is unexplained, else 0."""
    c = result.comparison
    table = Table(title=f"Replay vs backtest: {result.strategy}, {result.hours:g} h, seed {result.seed}")
    for name in ("venue", "symbol", "bar (UTC)", "side", "replay", "backtest", "price bps", "size %"):
        table.add_column(name, justify="right" if name in ("price bps", "size %") else "left", no_wrap=True)
    table.add_column("verdict", ratio=1, min_width=24)  # the one column that wraps
    rows = [(m.replay.key, "match", m.replay, m.backtest, f"{m.price_bps:+.2f}", f"{m.size_pct:+.2f}")
            for m in c.matched]
    r_legs = {leg.key: leg for leg in result.replay.legs}
    b_legs = {leg.key: leg for leg in result.backtest.legs}
    for d in c.differences:
        key = (d.venue, d.symbol, d.bar_time, d.side)
        verdict = f"{d.what}: {d.cause}" + ("" if d.explained else " [UNEXPLAINED]") + f" - {d.detail}"
        rows.append((key, verdict, r_legs.get(key), b_legs.get(key), "", ""))
    for key, verdict, r, b, price, size in sorted(rows, key=lambda row: (row[0][0], row[0][1], row[0][2])):
        style = "red" if "UNEXPLAINED" in verdict else None
        table.add_row(key[0], key[1], f"{key[2]:%m-%d %H:%M}", key[3], _leg(r), _leg(b), price, size,
                      verdict, style=style)
    console.print(table)
    console.print(summary(c))
    return 0 if c.agree else 1


def summary(c: Comparison) -> str:
    unexplained = len(c.unexplained)
    verdict = "AGREE" if c.agree else f"DISAGREE: {unexplained} unexplained difference(s)"
    return (f"{verdict}. Trades: replay {c.trades_replay}, backtest {c.trades_backtest}, matched "
            f"{c.trades_matched}. Signals: replay {c.signals_replay}, backtest {c.signals_backtest}. "
            f"Legs matched: {len(c.matched)}. Differences: {len(c.differences)} "
            f"({len(c.differences) - unexplained} explained).")


def _leg(leg: Leg | None) -> str:
    return f"{leg.quantity:.6g} @ {leg.price:.8g}" if leg is not None else ""
