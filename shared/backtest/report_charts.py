"""Report charts as PNG data URIs (matplotlib with the Agg backend, imported on use only):
equity curves on dates, their drawdown, and the optimiser's parameter landscape."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

BLUE, GREY = "#1a73e8", "#80868b"


def bar_times(start: datetime, end: datetime, n: int) -> np.ndarray:
    """n evenly spaced bar times from `start` (the window's bars when it has no gaps)."""
    step = (end - start) / max(n, 1)
    t0 = start.replace(tzinfo=None)
    return np.array([t0 + i * step for i in range(n)], dtype="datetime64[ms]")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _uri(fig, plt) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _dates(ax) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.grid(alpha=0.3)


def equity(times: np.ndarray, curves: Mapping[str, np.ndarray], *, base: Mapping[str, float] | None = None,
           ylabel: str, drawdown: bool = True, marks: Sequence[tuple[datetime, str]] = (),
           styles: Mapping[str, dict] | None = None) -> str:
    """Curves against dates; with `base` each curve is rebased to 100 at its base (the value
    of 100 invested), so curves of different sizes share one axis. `marks` draws a dashed
    vertical line with a label (e.g. "last trade")."""
    plt = _plt()
    rows = 2 if drawdown else 1
    fig, axes = plt.subplots(rows, 1, figsize=(10.5, 3.4 * rows + 0.4), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1][:rows]}, constrained_layout=True)
    top = axes[0][0]
    for name, curve in curves.items():
        y = np.asarray(curve, dtype=float)
        start = base.get(name) if base else None
        if start:
            y = y / start * 100.0
        top.plot(times[:len(y)], y, label=name, lw=1.1, **(styles or {}).get(name, {}))
        if drawdown:
            ref = start or (y[0] if len(y) else 1.0)
            peak = np.maximum.accumulate(np.maximum(y, ref if start is None else 100.0))
            dd = -(1 - y / peak) * 100
            axes[1][0].plot(times[:len(y)], dd, lw=0.9, label=name, **(styles or {}).get(name, {}))
    for i, (at, label) in enumerate(marks):
        x = np.datetime64(at.replace(tzinfo=None), "ms")
        top.axvline(x, color=GREY, ls="--", lw=0.9)
        top.annotate(label, (x, 1), xycoords=("data", "axes fraction"), xytext=(4, -14 - 13 * i),
                     textcoords="offset points", color=GREY, fontsize=9)
    top.set_ylabel(ylabel)
    top.legend(loc="best", fontsize=9)
    dated = np.issubdtype(np.asarray(times).dtype, np.datetime64)
    for row in axes:
        _dates(row[0]) if dated else row[0].grid(alpha=0.3)
    if drawdown:
        axes[1][0].set_ylabel("drawdown (%)")
    axes[-1][0].set_xlabel("date (UTC)" if dated else "bar")
    return _uri(fig, plt)


def landscape(points: Sequence[tuple[Mapping[str, float], float]]) -> str | None:
    """In-sample score over the first one or two parameters; None without a valid candidate."""
    valid = [(p, s) for p, s in points if s > -1e8 and p]
    if not valid:
        return None
    names = list(valid[0][0])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.5, 3.8), constrained_layout=True)
    x = np.array([p[names[0]] for p, _ in valid])
    s = np.array([sc for _, sc in valid])
    if len(names) >= 2:
        pts = ax.scatter(x, np.array([p[names[1]] for p, _ in valid]), c=s, cmap="viridis", s=32)
        fig.colorbar(pts, ax=ax, label="in-sample score")
        ax.set_ylabel(names[1])
    else:
        ax.scatter(x, s, s=22, color=BLUE)
        ax.set_ylabel("in-sample score")
    ax.set_xlabel(names[0])
    ax.grid(alpha=0.3)
    return _uri(fig, plt)


def to_datetime64(times: Sequence[datetime]) -> np.ndarray:
    return np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[ms]")


def step_of(times: np.ndarray) -> timedelta:
    if len(times) < 2:
        return timedelta(minutes=1)
    return timedelta(milliseconds=float(np.median(np.diff(times).astype("timedelta64[ms]").astype(float))))
