"""Backtest / optimisation reports: a PNG (equity curve, drawdown, parameter landscape)
and an HTML page embedding it with the metric tables. matplotlib (Agg) is imported only
here, on use."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def _figure(curves: Mapping[str, np.ndarray], initial: float,
            landscape: Sequence[tuple[Mapping[str, float], float]] = ()):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 3 if landscape else 2
    fig, axes = plt.subplots(rows, 1, figsize=(10, 3.2 * rows), constrained_layout=True)
    for name, eq in curves.items():
        axes[0].plot(eq, label=name, lw=0.8)
        peak = np.maximum.accumulate(np.maximum(eq, initial))
        axes[1].fill_between(np.arange(len(eq)), -(1 - eq / peak) * 100, 0, alpha=0.4, label=name)
    axes[0].set_title("Equity (quote currency)")
    axes[0].legend()
    axes[1].set_title("Drawdown (%)")
    axes[1].legend()
    if landscape:
        _landscape(axes[2], landscape)
    return fig, plt


def _landscape(ax, landscape) -> None:
    valid = [(p, s) for p, s in landscape if s > -1e8]
    names = list(valid[0][0]) if valid else []
    if not valid or not names:
        ax.set_title("Parameter landscape: no valid candidate")
        return
    x = np.array([p[names[0]] for p, _ in valid])
    s = np.array([sc for _, sc in valid])
    if len(names) >= 2:
        y = np.array([p[names[1]] for p, _ in valid])
        pts = ax.scatter(x, y, c=s, cmap="viridis", s=30)
        ax.figure.colorbar(pts, ax=ax, label="in-sample score")
        ax.set_ylabel(names[1])
    else:
        ax.scatter(x, s, s=20)
        ax.set_ylabel("in-sample score")
    ax.set_xlabel(names[0])
    ax.set_title("Parameter landscape (last fold, in-sample)")


def write(out: Path, name: str, title: str, curves: Mapping[str, np.ndarray], initial: float,
          tables: Mapping[str, Mapping[str, object]],
          landscape: Sequence[tuple[Mapping[str, float], float]] = ()) -> tuple[Path, Path]:
    """Write `<out>/<name>.png` and `<out>/<name>.html`; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    fig, plt = _figure(curves, initial, landscape)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    png = out / f"{name}.png"
    png.write_bytes(buf.getvalue())
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for caption, table in tables.items():
        parts.append(f"<h2>{html.escape(caption)}</h2><table border='1' cellpadding='4'>")
        for k, v in table.items():
            parts.append(f"<tr><th align='left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>")
        parts.append("</table>")
    parts.append(f"<img src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'/>")
    parts.append("</body></html>")
    page = out / f"{name}.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return png, page
