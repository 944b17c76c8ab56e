"""The evaluation report: the model against a naive baseline on held-out data.

The baseline predicts the training base rate for every sample (AUC 0.5 by construction,
the best constant for Brier and log loss), so "skill" means beating what anyone could
say without looking at the features.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from shared.ml.artifact import json_safe
from shared.ml.metrics import score

REPORT_FILE = "report.json"
_ROWS = (("accuracy", "Accuracy", "higher"), ("auc", "ROC AUC", "higher"),
         ("brier", "Brier", "lower"), ("log_loss", "Log loss", "lower"),
         ("ece", "Calibration error (ECE)", "lower"))


def split_report(y: np.ndarray, p_model: np.ndarray, base_rate: float) -> dict[str, Any]:
    """Scores of model and constant baseline on one split, plus skill figures."""
    model = score(y, p_model)
    baseline = score(y, np.full(len(y), base_rate))
    return {
        "model": model,
        "baseline": baseline,
        "auc_lift": _sub(model["auc"], baseline["auc"]),
        "brier_skill": (1.0 - model["brier"] / baseline["brier"]) if baseline["brier"] else None,
    }


def build_report(
    base_rate: float, splits: dict[str, tuple[np.ndarray, np.ndarray]], fit: dict[str, Any]
) -> dict[str, Any]:
    """`splits` maps a name ('val', 'test') to (labels, model probabilities)."""
    return {
        "baseline": {"kind": "constant_base_rate", "rate": float(base_rate)},
        "fit": fit,
        "splits": {name: split_report(y, p, base_rate) for name, (y, p) in splits.items()},
    }


def write_report(directory: str | Path, report: dict[str, Any]) -> Path:
    path = Path(directory) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    return path


def render_table(report: dict[str, Any], split: str = "test"):
    """A rich Table of model vs baseline on one split."""
    from rich.table import Table

    part = report["splits"][split]
    model, baseline = part["model"], part["baseline"]
    table = Table(title=f"LSTM vs naive baseline — {split} split "
                        f"(n={model['n']}, positives {model['positive_rate']:.1%})")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("better is", justify="center")
    for key, label, better in _ROWS:
        table.add_row(label, _fmt(model[key]), _fmt(baseline[key]), better)
    table.add_row("Brier skill score", _fmt(part["brier_skill"]), "0.0000", "higher")
    return table


def render_reliability(report: dict[str, Any], split: str = "test"):
    from rich.table import Table

    table = Table(title=f"Reliability — {split} split (model)")
    for col in ("bin", "count", "mean predicted", "observed"):
        table.add_column(col, justify="right")
    for b in report["splits"][split]["model"]["reliability"]:
        if b["count"]:
            table.add_row(f"{b['lower']:.1f}–{b['upper']:.1f}", str(b["count"]),
                          _fmt(b["mean_predicted"]), _fmt(b["observed_rate"]))
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.4f}"


def _sub(a: float, b: float) -> float | None:
    return None if math.isnan(a) or math.isnan(b) else a - b

