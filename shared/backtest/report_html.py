"""The page every HTML report shares: one self-contained, styled file (inline CSS, charts
as data-URI images; nothing fetched), tables with numbers rounded for people, and report
files that are never overwritten.

Units, one per kind: money in the quote currency with 2 decimals; every share or return
in percent (a fraction such as `win_rate` is shown x 100); ratios (Sharpe, profit factor)
with 2 decimals; counts as integers with thousands separators.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
main{max-width:1080px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d5dbe1;padding-bottom:4px}
.sub{color:#5b6875;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #dde3e9;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px} .card span{color:#5b6875;font-size:13px}
.pos{color:#137333} .neg{color:#b3261e}
.note{background:#fff8e1;border-left:4px solid #f2b600;padding:10px 14px;margin:12px 0;border-radius:4px}
.note.bad{background:#fdecea;border-color:#d93025}
table{border-collapse:collapse;background:#fff;border:1px solid #dde3e9;margin:8px 0}
th,td{padding:6px 12px;border-bottom:1px solid #eef1f4;text-align:right}
th:first-child,td:first-child{text-align:left} table.kv td{text-align:left} thead th{background:#eef2f6;font-weight:600}
img.chart{width:100%;background:#fff;border:1px solid #dde3e9;border-radius:8px}
footer{color:#7a8794;font-size:12px;margin-top:32px}
"""

# metric key -> (label, kind); kinds: pct (already percent), frac (fraction -> percent),
# ratio, count, money
METRICS: dict[str, tuple[str, str]] = {
    "total_return_pct": ("Total return", "pct"),
    "max_drawdown_pct": ("Max drawdown", "pct"),
    "sharpe": ("Sharpe (annualised)", "ratio"),
    "sortino": ("Sortino (annualised)", "ratio"),
    "calmar": ("Calmar", "ratio"),
    "win_rate": ("Win rate", "frac"),
    "profit_factor": ("Profit factor", "ratio"),
    "trades": ("Closed trades", "count"),
    "exposure_pct": ("Time in the market", "pct"),
    "fees_paid": ("Fees paid", "money"),
    "bars": ("Bars", "count"),
    "score": ("Objective score (out of sample)", "ratio"),
    "in_sample_score": ("Objective score (in sample)", "ratio"),
    "objective": ("Objective", "auto"),
    "folds": ("Walk-forward folds", "count"),
}


def esc(value: object) -> str:
    return html.escape(str(value))


def number(value: object, kind: str = "auto", unit: str = "") -> str:
    """A value as a person reads it (see the module docstring for the units)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        return "n/a"
    if kind == "frac":
        kind, x = "pct", x * 100
    if kind == "pct":
        return f"{x:,.2f} %"
    if kind == "count":
        return f"{round(x):,}"
    if kind == "money":
        return f"{x:,.2f}{' ' + unit if unit else ''}"
    if kind == "ratio":
        return f"{x:,.2f}"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.4g}"


def sign_class(value: object, digits: int = 2) -> str:
    """"pos" / "neg" by the sign of the value as shown (rounded to `digits`), else ""."""
    try:
        x = round(float(value), digits)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "pos" if x > 0 else "neg" if x < 0 else ""


def metric_rows(columns: Mapping[str, Mapping[str, object]], quote: str = "") -> str:
    """A metrics table, one column per name (symbol, current/recommended), known metrics
    labelled and formatted, unknown scalar keys shown as they are."""
    names = list(columns)
    keys: list[str] = []
    for col in columns.values():
        keys += [k for k, v in col.items() if k not in keys and not isinstance(v, (dict, list))]
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    rows = []
    for key in keys:
        label, kind = METRICS.get(key, (key.replace("_", " "), "auto"))
        if key == "profit_factor":
            cells = "".join(f"<td>{_pf(columns[n].get(key), columns[n])}</td>" for n in names)
        else:
            cells = "".join(f"<td>{esc(number(columns[n].get(key), kind, quote))}</td>" for n in names)
        rows.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
    return f"<table><thead><tr><th>metric</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _pf(value: object, col: Mapping[str, object]) -> str:
    if value is None:
        return "n/a (no losing trade)" if col.get("trades") else "n/a"
    return esc(number(value, "ratio"))


def kv_table(rows: Iterable[tuple[str, object]]) -> str:
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table class='kv'><tbody>{body}</tbody></table>"


def cards(items: Iterable[tuple[str, str, str]]) -> str:
    """Headline figures: (label, text, css class)."""
    inner = "".join(f"<div class='card'><b class='{c}'>{esc(t)}</b><span>{esc(label)}</span></div>"
                    for label, t, c in items)
    return f"<div class='cards'>{inner}</div>"


def note(text: str, bad: bool = False) -> str:
    return f"<div class='note{' bad' if bad else ''}'>{esc(text)}</div>"


def image(data_uri: str, alt: str) -> str:
    return f"<img class='chart' alt='{esc(alt)}' src='{data_uri}'/>"


def page(title: str, subtitle: str, body: Iterable[str], generated_at: datetime | None = None) -> str:
    foot = f"Generated {generated_at:%Y-%m-%d %H:%M} UTC by Tradewinds." if generated_at else "Tradewinds."
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f"<h1>{esc(title)}</h1><p class='sub'>{esc(subtitle)}</p>{''.join(body)}"
            f"<footer>{esc(foot)}</footer></main></body></html>")


def unique_path(out: Path, stem: str, suffix: str = ".html") -> Path:
    """`<out>/<stem><suffix>`, or `<stem>-2`, `-3`... when taken: a report is never overwritten."""
    out.mkdir(parents=True, exist_ok=True)
    path, n = out / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = out / f"{stem}-{n}{suffix}"
    return path


def window_text(start: datetime, end: datetime) -> str:
    days = (end - start).total_seconds() / 86_400
    span = f"{round(days, 1):g} days" if days >= 1 else f"{round(days * 24, 1):g} hours"
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC ({span})"
