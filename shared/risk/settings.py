"""Operator settings: risk limits edited at run time (console / API), versioned and audited.

`settings/current` = {"version": n, "risk": {"limits": {...}, "panic": {...}, "sizing": {...}},
"updated_by", "updated_at", "reason"}; every version is also kept in `settings_versions/{n}`
so an earlier one can be restored. Only the sections in `EDITABLE` may be overridden; the
overlay is validated by the same typed model as config/risk.yaml (`RiskConfig`), so a bad value
is refused where it is written (`validate`) and never reaches the risk step. The risk step
reads the current version on every message (`effective`), cached per content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shared.ports import Transaction
from shared.risk.config import RiskConfig

CURRENT = ("settings", "current")
VERSIONS = "settings_versions"
EDITABLE = ("limits", "panic", "sizing")
_cache: dict[tuple[int, str], RiskConfig] = {}


class SettingsError(ValueError):
    """A settings change that cannot be applied: the message says which field and why."""


def _merge(base: dict, extra: Mapping) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def validate(base: RiskConfig, risk: Mapping[str, Any]) -> RiskConfig:
    """The config with `risk` laid over it, or SettingsError naming the bad field."""
    unknown = sorted(set(risk) - set(EDITABLE))
    if unknown:
        raise SettingsError(f"not editable at run time: {', '.join(unknown)} (editable: {', '.join(EDITABLE)})")
    try:
        return RiskConfig.model_validate(_merge(base.model_dump(mode="json"), risk))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{where}: {first['msg']}") from None


def effective(tx: Transaction, base: RiskConfig) -> RiskConfig:
    """The config the risk step applies now: the file's, with the current settings over it."""
    doc = tx.peek(*CURRENT)
    if not doc or not doc.get("risk"):
        return base
    key = (id(base), json.dumps(doc["risk"], sort_keys=True, default=str))  # the content, not a number
    if key not in _cache:
        try:
            _cache[key] = validate(base, doc["risk"])
        except SettingsError:  # written by hand past the API: keep trading on the file's limits
            _cache[key] = base
    return _cache[key]
