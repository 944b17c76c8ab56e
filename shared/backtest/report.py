"""Backtest and optimisation reports: one self-contained styled HTML page each (inline CSS,
charts embedded as PNG data URIs - nothing is fetched), named by run or job id and never
overwritten (`report_html.unique_path`).

Each page names its window (dates, UTC), shows equity curves on dates and on one base
(the value of 100 invested, so symbols and parameter sets compare), formats every metric
in one unit per kind (`report_html`), and - when a backtest goes flat for good part way -
says why (`report_why`). matplotlib (Agg) is imported on use only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from shared.backtest import report_charts as charts
from shared.backtest import report_html as ui
from shared.backtest.engine import BacktestResult
from shared.backtest.metrics import compute
from shared.backtest.report_why import why_stopped
from shared.strategies.base import VoteSeries

STATUS_TEXT = {"recommended": "New parameters recommended", "no_improvement": "Keep the current parameters",
               "refused": "Refused", "failed": "Failed"}


def _quote(symbol: str) -> str:
    return symbol.split("/")[1] if "/" in symbol else ""


def _params(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k} = {ui.number(v)}" for k, v in params.items()) or "(none)"


def _when(times: np.ndarray):
    return lambda i: f"{times[max(0, min(i, len(times) - 1))].astype('datetime64[m]').item():%Y-%m-%d %H:%M}"


def backtest(out: Path, *, strategy: str, params: Mapping[str, float], results: Mapping[str, BacktestResult],
             start: datetime, end: datetime, now: datetime, votes: Mapping[str, VoteSeries] | None = None,
             times: np.ndarray | None = None, source: str = "", run_id: str | None = None) -> Path:
    """Write `<out>/backtest-<strategy>-<run_id>.html` (run_id: `now` as %Y%m%dT%H%M%S) for
    one strategy's backtest on each symbol; returns its path. `times` are the bar times
    (numpy datetime64, default: evenly spaced over [start, end))."""
    first = next(iter(results.values()))
    n = len(first.equity)
    t = times if times is not None else charts.bar_times(start, end, n)
    when = _when(t)
    metrics = {s: compute(r).to_dict() for s, r in results.items()}
    body = [ui.cards((f"{s} return", ui.number(m["total_return_pct"], "pct"), ui.sign_class(m["total_return_pct"]))
                     for s, m in metrics.items())]
    marks = []
    for symbol, r in results.items():
        stop = why_stopped(r, (votes or {}).get(symbol), when=when)
        if stop is not None:
            body.append(ui.note(f"{symbol} stopped trading: {stop.text}", bad=True))
            if stop.last_fill_bar >= 0:
                marks.append((t[stop.last_fill_bar].astype("datetime64[ms]").item(), f"{symbol} last trade"))
    body.append("<h2>Equity (value of 100 invested)</h2>")
    body.append(ui.image(charts.equity(t, {s: r.equity for s, r in results.items()},
                                       base={s: r.config.initial_cash for s, r in results.items()},
                                       ylabel="value of 100 invested", marks=marks), "equity and drawdown"))
    body.append("<h2>Metrics</h2>")
    quotes = {_quote(s) for s in results}
    body.append(ui.metric_rows(metrics, quote=quotes.pop() if len(quotes) == 1 else ""))
    body.append("<h2>Parameters and rules</h2>")
    cfg = first.config
    body.append(ui.kv_table([
        ("parameters", _params(params)),
        ("starting cash", ui.number(cfg.initial_cash, "money", _quote(next(iter(results))))),
        ("sizing", "live rules (fractional Kelly, capped)" if cfg.sizing == "live" else "all the cash"),
        ("taker fee", f"{cfg.fee_bps:g} bps"),
        ("fills", "next bar's open, with volume slippage"),
        ("bars", f"{n:,} per symbol{' from ' + source if source else ''}"),
    ]))
    title = f"Backtest: {strategy} on {', '.join(results)}"
    subtitle = f"Window {ui.window_text(start, end)}" + (f" · bars from {source}" if source else "")
    path = ui.unique_path(out, f"backtest-{strategy}-{run_id or f'{now:%Y%m%dT%H%M%S}'}")
    path.write_text(ui.page(title, subtitle, body, now), encoding="utf-8")
    return path


def optimize(out: Path, *, strategy: str, outcome, start: datetime, end: datetime, now: datetime,
             job_id: str | None = None, symbols: Sequence[str] = (), times: np.ndarray | None = None,
             source: str = "") -> Path:
    """Write `<out>/optimize-<strategy>-<job_id>.html` for a walk-forward `Outcome`
    (shared.optimize.job); returns its path."""
    status = STATUS_TEXT.get(outcome.status, outcome.status)
    body = [ui.cards([("verdict", status, "pos" if outcome.status == "recommended" else ""),
                      ("evaluations", ui.number(outcome.evaluations, "count"), ""),
                      ("trials per fold", ui.number(outcome.trials, "count"), "")])]
    if outcome.note:
        body.append(ui.note(outcome.note, bad=outcome.status in ("failed", "refused")))
    body.append("<h2>Parameters</h2>")
    keys = list(outcome.current) + [k for k in outcome.recommended if k not in outcome.current]
    rows = "".join(f"<tr><td>{ui.esc(k)}</td><td>{ui.esc(ui.number(outcome.current.get(k)))}</td>"
                   f"<td>{ui.esc(ui.number(outcome.recommended.get(k)) if outcome.recommended else 'keep')}</td></tr>"
                   for k in keys)
    body.append(f"<table><thead><tr><th>parameter</th><th>current</th><th>recommended</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")
    if outcome.current_report:
        body.append("<h2>Walk-forward out-of-sample metrics (mean over symbols)</h2>")
        cols = {"current": outcome.current_report}
        if outcome.recommended_report:
            cols["recommended"] = outcome.recommended_report
        quotes = {_quote(s) for s in symbols}
        body.append(ui.metric_rows(cols, quote=quotes.pop() if len(quotes) == 1 else ""))
    if outcome.equity:
        first = next(iter(outcome.equity.values()))
        t = times if times is not None else charts.bar_times(start, end, len(first))
        label = f" on {symbols[0]}" if symbols else ""
        body.append(f"<h2>Equity over the whole window{ui.esc(label)} (value of 100 invested)</h2>")
        body.append(ui.image(charts.equity(t, outcome.equity, base={k: float(v[0]) for k, v in outcome.equity.items()
                                                                    if len(v)},
                                           ylabel="value of 100 invested"), "equity and drawdown"))
    land = charts.landscape(outcome.landscape) if outcome.landscape else None
    if land:
        body.append("<h2>Parameter landscape (last fold, in-sample score)</h2>")
        body.append(ui.image(land, "parameter landscape"))
    if outcome.folds:
        body.append("<h2>Folds</h2>")
        body.append(_folds(outcome.folds))
    title = f"Optimisation: {strategy}{' — ' + status if status else ''}"
    subtitle = (f"Window {ui.window_text(start, end)}" + (f" · {', '.join(symbols)}" if symbols else "")
                + (f" · bars from {source}" if source else "") + (f" · job {job_id}" if job_id else ""))
    path = ui.unique_path(out, f"optimize-{strategy}-{job_id or f'{now:%Y%m%dT%H%M%S}'}")
    path.write_text(ui.page(title, subtitle, body, now), encoding="utf-8")
    return path


def _folds(folds: Sequence[Mapping]) -> str:
    rows = "".join(
        f"<tr><td>{f.get('fold')}</td><td>{ui.esc(_params(f.get('best') or {}))}</td>"
        f"<td>{ui.esc(ui.number(f.get('is_score'), 'ratio'))}</td><td>{ui.esc(ui.number(f.get('oos_score'), 'ratio'))}</td>"
        f"<td>{ui.esc(ui.number(f.get('current_oos_score'), 'ratio'))}</td></tr>" for f in folds)
    return ("<table><thead><tr><th>fold</th><th>best in-sample</th><th>in-sample score</th>"
            f"<th>out-of-sample score</th><th>current, out-of-sample</th></tr></thead><tbody>{rows}</tbody></table>")


def write(out: Path, name: str, title: str, curves: Mapping[str, np.ndarray], initial: float,
          tables: Mapping[str, Mapping[str, object]],
          landscape: Sequence[tuple[Mapping[str, float], float]] = ()) -> tuple[Path, Path]:
    """The former entry point (no dates, no window): a styled page with the curves on bar
    numbers. Kept until the CLI calls `backtest` / `optimize`; writes `<out>/<name>.html`
    (never overwritten) and returns (page, page)."""
    n = max((len(c) for c in curves.values()), default=0)
    t = np.arange(n)
    body = ["<h2>Equity (value of 100 invested)</h2>",
            ui.image(charts.equity(t, curves, base={k: initial for k in curves}, ylabel="value of 100 invested"),
                     "equity")]
    for caption, table in tables.items():
        body += [f"<h2>{ui.esc(caption)}</h2>", ui.kv_table((k, ui.number(v)) for k, v in table.items())]
    land = charts.landscape(landscape) if landscape else None
    if land:
        body.append(ui.image(land, "parameter landscape"))
    page = ui.unique_path(out, name)
    page.write_text(ui.page(title, "", body), encoding="utf-8")
    return page, page
