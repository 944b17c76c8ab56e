"""`runs/<id>/report.html`: one self-contained page for a replay - the equity chart (NAV and
the buy-and-hold of the start balances, from the risk step's `equity` points), the PnL
attribution by source (`shared.ledger.statement`, summing to the total), costs, trades,
halts and whether the LSTM voted. Charts are PNG data URIs: nothing is fetched.

Reads only the store (and `summary.json` beside it when present, for seed and hours).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from shared.backtest import report_charts as charts
from shared.backtest import report_html as ui
from shared.ledger.statement import statement
from shared.ports import Store
from shared.signals.lstm_report import lstm_summary
from shared.signals.standing import strategy_states


def _points(store: Store) -> list[dict]:
    return [d for _, d in store.query("equity", order_by="at")]


def _summary(run_dir: Path) -> dict:
    path = run_dir / "summary.json"
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


def _money(v: Decimal | str | None, quote: str) -> str:
    return ui.number(None if v is None else Decimal(v), "money", quote)


def write(store: Store, run_dir: Path, quote: str | None = None, lstm_configured: bool | None = None) -> Path:
    """Write `<run_dir>/report.html` (replaced on each call: one report per run, the
    latest state of the run) and return its path. `lstm_configured`: whether the run had a
    predictor (None: `lstm_report` reads it from the store)."""
    run_dir = Path(run_dir)
    meta = _summary(run_dir)
    quote = quote or meta.get("quote") or "USDT"
    st = statement(store, quote)
    points = _points(store)
    body: list[str] = [ui.cards([
        ("end NAV", _money(st["end_nav_usd"], quote), ""),
        ("total PnL, net of every cost", _money(st["total_pnl_usd"], quote), ui.sign_class(st["total_pnl_usd"])),
        ("return on start capital", ui.number(st["return_pct"], "pct"), ui.sign_class(st["return_pct"])),
        ("buy and hold", ui.number(st["buy_and_hold_return_pct"], "pct"), ui.sign_class(st["buy_and_hold_return_pct"])),
    ])]
    for _, halt in store.query("audit", [("kind", "==", "halt")]):
        body.append(ui.note(f"Trading halted at {halt.get('at')} by {halt.get('actor')}: {halt.get('reason')}",
                            bad=True))
    lstm = lstm_summary(store, lstm_configured)
    body.append(ui.note(lstm["line"], bad=lstm["status"] == "off"))
    body.append("<h2>Equity</h2>")
    if len(points) >= 2:
        times = charts.to_datetime64([datetime.fromisoformat(p["at"]) for p in points])
        curves = {"NAV": [float(p["nav"]) for p in points], "buy and hold": [float(p["hold"]) for p in points]}
        body.append(ui.image(charts.equity(times, curves, ylabel=f"value ({quote})",
                                           styles={"buy and hold": {"ls": "--", "color": charts.GREY}}),
                             "NAV and buy and hold"))
    else:
        body.append(ui.note("No equity points yet: the risk step records one per minute with activity."))
    total = st["total_pnl_usd"]
    rows = "".join(f"<tr><td>{ui.esc(src)}</td><td class='{ui.sign_class(v)}'>{ui.esc(_money(v, ''))}</td></tr>"
                   for src, v in st["attribution"].items())
    body.append(f"<h2>Where the PnL came from ({ui.esc(quote)})</h2><table><thead><tr><th>source</th>"
                f"<th>PnL</th></tr></thead><tbody>{rows}<tr><th>total</th><th>{ui.esc(_money(total, ''))}"
                "</th></tr></tbody></table>")
    states = strategy_states(store)
    if states:  # live / warming up / standing aside, and why (shared/signals/standing.py)
        rows = "".join(f"<tr><td>{ui.esc(name)}</td><td>{ui.esc(v['state'].replace('_', ' '))}</td>"
                       f"<td>{v['paper_trades']:,}</td><td>{ui.esc(v['why'])}</td></tr>" for name, v in states.items())
        body.append("<h2>Strategies</h2><table><thead><tr><th>strategy</th><th>state</th><th>paper trades</th>"
                    f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>")
    c = st["costs"]
    body.append("<h2>Costs and trades</h2>")
    body.append(ui.kv_table([
        ("start capital", _money(st["start_capital_usd"], quote)),
        ("buy and hold at the end", _money(st["buy_and_hold_usd"], quote)),
        ("trading fees", _money(c["trading_fees_usd"], quote)),
        (f"transfer fees ({int(c['transfers'])} transfers)", _money(c["transfer_fees_usd"], quote)),
        ("swept to cold wallet", _money(c["swept_to_cold_usd"], quote)),
        ("closed trades (strategy / arbitrage)",
         f"{st['closed_trades']:,} ({st['strategy_trades']:,} / {st['arbitrage_trades']:,})"),
        ("win rate", ui.number(st["win_rate"], "frac")),
    ] + ([("unpriced assets", ", ".join(st["unpriced_assets"]))] if st["unpriced_assets"] else [])))
    run_id = meta.get("run_id") or run_dir.name
    first, last = (points[0]["at"], points[-1]["at"]) if points else (meta.get("start"), meta.get("end"))
    parts = [f"{first[:16].replace('T', ' ')} → {last[:16].replace('T', ' ')} UTC" if first and last else "",
             f"{float(meta.get('total_hours') or meta['hours']):g} h" if meta.get("hours") else "", f"seed {meta['seed']}" if "seed" in meta else "",
             ", ".join(meta.get("venues", []))]
    path = run_dir / "report.html"
    path.write_text(ui.page(f"Run {run_id}", " · ".join(p for p in parts if p), body), encoding="utf-8")
    return path
