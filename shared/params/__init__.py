"""Versioned strategy parameters (see `versions` for the store layout)."""

from shared.params.versions import (
    Applied,
    ParamsError,
    apply,
    approve,
    current,
    effective,
    history,
    reject,
    rollback,
    safe_violations,
)

__all__ = ["Applied", "ParamsError", "apply", "approve", "current", "effective", "history", "reject",
           "rollback", "safe_violations"]
