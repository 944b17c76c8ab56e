"""`tradewinds show RUN_ID [WHAT]`: a finished (or stopped) replay's books as tables.

Everything is read from runs/<id>/state.sqlite (and notifications.jsonl, summary*.json); the
money figures of `summary` are `shared.ledger.statement`'s, the same as the run summary's.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Show a run.")
console = Console()
CENT = Decimal("0.01")
RUNS = Path("runs")


class What(str, Enum):
    summary = "summary"
    balances = "balances"
    positions = "positions"
    trades = "trades"
    orders = "orders"
    opportunities = "opportunities"
    notifications = "notifications"


@app.command()
def show(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="Run id (a folder under --runs-dir)."),
    what: Annotated[What, typer.Argument(metavar="WHAT", help="What to show.", case_sensitive=False)] = What.summary,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where runs/<id>/ are.")] = RUNS,
    limit: int = typer.Option(30, "--limit", min=1, help="Rows of long tables (the latest)."),
) -> None:
    """Print a run's summary, balances, positions, trades, orders,
    opportunities or notifications."""
    from shared.adapters.local.sqlite_store import SqliteStore

    run_dir = runs_dir / run_id
    db = run_dir / "state.sqlite"
    if not db.is_file():
        raise typer.BadParameter(f"no run {run_id!r} in {runs_dir} (no {db})", param_hint="RUN_ID")
    store = SqliteStore(db)
    try:
        SHOW[what](store, run_dir, limit)
    finally:
        store.close()


def _meta(run_dir: Path) -> dict:
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT))


def _when(iso: str) -> str:
    """2026-01-05T15:06:00+00:00 → 01-05 15:06 (UTC; the year is the run's)."""
    return iso[5:16].replace("T", " ") if iso else ""


def _amount(value) -> str:
    """A price or amount in its own currency: cents from 1 up, 5 significant digits below
    (an ETH/BTC price, a fee in BTC)."""
    d = Decimal(value)
    if d.copy_abs() >= 1 or d == 0:
        return str(d.quantize(CENT))
    return f"{d:.5g}" if "e" not in f"{d:.5g}" else f"{d:.10f}".rstrip("0")


def _wide(*columns: str, title: str, keep: tuple[int, ...] = (0,)) -> Table:
    """A table of many columns that fits 80: no vertical rules; the `keep` columns never wrap."""
    table = Table(*columns, title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for i in keep:
        table.columns[i].no_wrap = True
    return table


def _latest(rows: list, limit: int, what: str) -> list:
    if len(rows) > limit:
        console.print(f"[dim]the latest {limit} of {len(rows)} {what} (--limit to see more)[/dim]")
    return rows[-limit:]


def show_summary(store, run_dir: Path, limit: int) -> None:
    from shared.ledger.statement import statement

    meta = _meta(run_dir)
    q = meta.get("quote", "USDT")
    st = statement(store, q)
    replay = store.get("state", "replay") or {}
    table = Table(title=f"Run {run_dir.name}", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    hours = meta.get("total_hours", meta.get("hours"))
    rows = [("simulated hours", hours if hours is not None else "?"),
            ("segments", meta.get("segments", 1)),
            ("seed", replay.get("seed", meta.get("seed", "?"))),
            ("venues", ", ".join(replay.get("venues", meta.get("venues", [])))),
            ("from → to", (f"{replay.get('start', meta.get('start', '?'))} → "
                           f"{replay.get('now', meta.get('end', '?'))}"))]
    start = ", ".join(f"{v} {a}" for a, v in st["start_balances"].items())
    rows += [("start capital", f"{start} = {_money(st['start_capital_usd'])} {q}"),
             (f"end NAV ({q})", _money(st["end_nav_usd"])),
             (f"total PnL, net of every cost ({q})", _money(st["total_pnl_usd"])),
             ("return on start capital", f"{st['return_pct'].quantize(Decimal('0.0001'))}%"),
             (f"buy and hold ({q})", (f"{_money(st['buy_and_hold_usd'])} "
                                     f"({st['buy_and_hold_return_pct'].quantize(Decimal('0.0001'))}%)"))]
    rows += [(f"  from {k}", _money(v)) for k, v in st["attribution"].items()]
    costs = st["costs"]
    rows += [(f"trading fees ({q})", _money(costs["trading_fees_usd"])),
             (f"transfer fees ({q}), {int(costs['transfers'])} transfers", _money(costs["transfer_fees_usd"])),
             (f"swept to cold wallet ({q})", _money(costs["swept_to_cold_usd"])),
             ("closed trades (strategy / arbitrage)",
              f"{st['closed_trades']} ({st['strategy_trades']} / {st['arbitrage_trades']})"),
             ("win rate", "n/a" if st["win_rate"] is None else f"{st['win_rate']:.1%}")]
    if st["unpriced_assets"]:
        rows.append(("unpriced assets", ", ".join(st["unpriced_assets"])))
    for k, v in rows:
        table.add_row(k, str(v))
    console.print(table)


def show_balances(store, run_dir: Path, limit: int) -> None:
    by_venue: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for _, d in store.query("balances"):
        by_venue[d["venue"]][d["asset"]] = Decimal(d["total"])
    assets = sorted({a for v in by_venue.values() for a in v})
    table = Table("venue", *assets, title=f"Balances of {run_dir.name}")
    for venue in sorted(by_venue):
        table.add_row(venue, *(str(by_venue[venue].get(a, "")) for a in assets))
    totals = [sum((v.get(a, Decimal(0)) for v in by_venue.values()), Decimal(0)) for a in assets]
    table.add_row("[bold]all venues[/bold]", *(str(t) for t in totals))
    console.print(table if by_venue else "no balances")


def show_positions(store, run_dir: Path, limit: int) -> None:
    table = _wide("venue", "symbol", "quantity", "avg cost", "mark", "realised", "fees",
                  title=f"Open positions of {run_dir.name} (prices, PnL and fees in the quote currency)",
                  keep=(1,))
    docs = [d for _, d in store.query("positions") if Decimal(d.get("quantity", "0")) != 0]
    for d in sorted(docs, key=lambda d: (d["symbol"], d["venue"])):
        mark = d.get("mark_price")
        table.add_row(d["venue"], d["symbol"], d["quantity"], _amount(d.get("avg_cost", "0")),
                      _amount(mark) if mark else "", _amount(d.get("realised_pnl", "0")),
                      _amount(d.get("fees", "0")))
    console.print(table if docs else "no open positions")


def show_trades(store, run_dir: Path, limit: int) -> None:
    docs = sorted((d for _, d in store.query("trades")), key=lambda d: d.get("closed_at") or "")
    table = _wide("closed (UTC)", "venue", "symbol", "strategy", "PnL (USD)",
                  title=f"Closed trades of {run_dir.name}")
    for d in _latest(docs, limit, "trades"):
        table.add_row(_when(d.get("closed_at", "")), d.get("venue", ""), d.get("symbol", ""), d.get("strategy", ""),
                      _money(d["pnl_usd"]))
    console.print(table if docs else "no closed strategy trades")
    arbs = len(store.query("arbitrage"))
    if arbs:
        console.print(f"{arbs} executed arbitrage(s): `tradewinds show {run_dir.name} opportunities`")


def show_orders(store, run_dir: Path, limit: int) -> None:
    docs = sorted((d for _, d in store.query("orders")), key=lambda d: d.get("updated_at") or "")
    table = _wide("updated (UTC)", "venue", "symbol", "side", "filled", "avg price", "state", "source",
                  title=f"Orders of {run_dir.name} (filled/asked when partly filled)")
    for d in _latest(docs, limit, "orders"):
        table.add_row(_when(d.get("updated_at", "")), d.get("venue", ""), d.get("symbol", ""), d.get("side", ""),
                      _filled(d), _amount(d["avg_price"]) if d.get("avg_price") else "",
                      d.get("state", ""), d.get("source", ""))
    console.print(table if docs else "no orders")


def _filled(order: dict) -> str:
    filled, asked = order.get("filled_quantity") or "0", order.get("quantity") or "0"
    return filled if Decimal(filled) == Decimal(asked) else f"{filled}/{asked}"


def show_opportunities(store, run_dir: Path, limit: int) -> None:
    docs = sorted((d for _, d in store.query("arbitrage")), key=lambda d: d.get("detected_at") or "")
    table = _wide("detected (UTC)", "kind", "route", "net bps", "exp. USD", "notional USD",
                  title=f"Executed arbitrage of {run_dir.name}", keep=(0, 2))
    for d in _latest(docs, limit, "opportunities"):
        kind = d.get("kind", "")
        table.add_row(_when(d.get("detected_at", "")), kind, d.get("key", "").removeprefix(f"{kind}:"),
                      str(Decimal(d.get("net_bps", "0")).quantize(CENT)), _money(d.get("expected_profit", "0")),
                      _money(d.get("notional_usd", "0")))
    console.print(table if docs else "no arbitrage executed")
    misses = Counter(d.get("reason", "?") for _, d in store.query("near_misses"))
    if misses:
        near = Table("near misses: reason", "count")
        for reason, n in misses.most_common():
            near.add_row(reason, str(n))
        console.print(near)


def show_notifications(store, run_dir: Path, limit: int) -> None:
    path = run_dir / "notifications.jsonl"
    items = [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []
    table = _wide("sent (UTC)", "kind", "severity", "title", title=f"Notifications of {run_dir.name}")
    for d in _latest(items, limit, "notifications"):
        table.add_row(_when(str(d.get("created_at", ""))), d.get("kind", ""), d.get("severity", ""), d.get("title", ""))
    console.print(table if items else "no notifications")


SHOW = {What.summary: show_summary, What.balances: show_balances, What.positions: show_positions,
        What.trades: show_trades, What.orders: show_orders, What.opportunities: show_opportunities,
        What.notifications: show_notifications}
