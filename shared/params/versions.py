"""Versioned strategy parameters: apply, approve, reject, auto-apply, roll back; all audited.

Store layout (store collections are flat names; the Firestore paths of DESIGN map to them):

    params/{strategy}                  current: {"values", "version", "source", "job_id",
                                                 "updated_at", "updated_by"}
    params_versions/{strategy}-v{N}    every version ever applied (append-only), for
                                       DESIGN's `params/{strategy}/versions/v{N}`:
                                       {"strategy", "version", "values", "source",
                                        "previous_version", "job_id", "restores", "actor", "at"}
    optimizer_jobs/{job}               the recommendation and its decision
    audit/{kind}-{...}                 one document per step

Version 0 is the YAML (config/strategies); when version 1 is first written the YAML values
are recorded as `{strategy}-v0` so a rollback to 0 is exact. Versions only grow: a
rollback writes a NEW version (source "rollback", `restores` = the version copied), so the
history stays readable and every cache keyed on the version sees the change. The signal
step reads `params/{strategy}` on every bar (`shared.handlers.signal._current_params`).

Every function that applies a version returns the Control `reload_params` (args strategy,
version) the caller publishes so other steps and caches know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.contracts import Command, Control
from shared.ports import Store, Transaction
from shared.strategies.config import StrategySpec

CURRENT, VERSIONS, JOBS, AUDIT = "params", "params_versions", "optimizer_jobs", "audit"


class ParamsError(Exception):
    """A decision that cannot be taken (unknown job, wrong status, unknown version)."""


@dataclass(frozen=True)
class Applied:
    strategy: str
    version: int
    values: dict[str, float]
    control: Control


def version_id(strategy: str, version: int) -> str:
    return f"{strategy}-v{version}"


def current(tx: Transaction, strategy: str) -> tuple[dict[str, float] | None, int]:
    """(stored values, version); (None, 0) while the YAML values are in force."""
    doc = tx.get(CURRENT, strategy)
    if not doc or not doc.get("values"):
        return None, 0
    return dict(doc["values"]), int(doc.get("version", 0))


def effective(tx: Transaction, spec: StrategySpec) -> tuple[dict[str, float], int]:
    """The values in force (YAML overlaid with the current version) and the version."""
    values, version = current(tx, spec.name)
    return {**spec.values(), **(values or {})}, version


def _audit(tx: Transaction, doc_id: str, kind: str, at: datetime, actor: str, **details) -> None:
    tx.put(AUDIT, doc_id, {"kind": kind, "at": at.isoformat(), "actor": actor, **details})


def apply(tx: Transaction, strategy: str, values: Mapping[str, float], *, actor: str, at: datetime,
          source: str, baseline: Mapping[str, float] | None = None, job_id: str | None = None,
          restores: int | None = None, reason: str = "") -> Applied:
    """Write version N+1 as current; record it; audit it."""
    _, n = current(tx, strategy)
    if n == 0 and baseline is not None and tx.get(VERSIONS, version_id(strategy, 0)) is None:
        tx.put(VERSIONS, version_id(strategy, 0), {
            "strategy": strategy, "version": 0, "values": dict(baseline), "source": "yaml",
            "previous_version": None, "job_id": None, "restores": None, "actor": "config",
            "at": at.isoformat()})
    new = n + 1
    values = {k: float(v) for k, v in values.items()}
    tx.put(VERSIONS, version_id(strategy, new), {
        "strategy": strategy, "version": new, "values": values, "source": source,
        "previous_version": n, "job_id": job_id, "restores": restores, "actor": actor,
        "at": at.isoformat(), "reason": reason})
    tx.put(CURRENT, strategy, {"values": values, "version": new, "source": source, "job_id": job_id,
                               "updated_at": at.isoformat(), "updated_by": actor})
    _audit(tx, f"params-applied-{version_id(strategy, new)}", "params_applied", at, actor,
           strategy=strategy, version=new, previous_version=n, source=source, job_id=job_id,
           restores=restores, values=values, reason=reason)
    control = Control(command=Command.RELOAD_PARAMS, reason=reason or f"{source}: {strategy} v{new}",
                      actor=actor, args={"strategy": strategy, "version": str(new)}, issued_at=at)
    return Applied(strategy, new, values, control)


def safe_violations(spec: StrategySpec, values: Mapping[str, float]) -> list[str]:
    """Why `values` may not be auto-applied: each value outside its safe_min..safe_max."""
    out = []
    for name, value in values.items():
        p = spec.params.get(name)
        if p is None:
            out.append(f"{name}: not a declared parameter")
        elif not p.is_safe(float(value)):
            lo, hi = p.safe_range
            out.append(f"{name}={value:g} outside safe range [{lo:g}, {hi:g}]")
    return out


def approve(tx: Transaction, job_id: str, *, actor: str, at: datetime,
            baseline: Mapping[str, float] | None = None) -> Applied:
    """Apply a recommended job's parameters. Also completes a job a human already marked
    "approved" (e.g. by Telegram) that no one has applied yet."""
    job = tx.get(JOBS, job_id)
    if job is None:
        raise ParamsError(f"unknown optimizer job {job_id}")
    status = job.get("status")
    if status == "approved" and job.get("applied_version") is None:
        actor = job.get("decided_by") or actor
    elif status != "recommended":
        by = f" by {job['decided_by']}" if job.get("decided_by") else ""
        raise ParamsError(f"job {job_id} is {status}{by}: only a recommended job can be approved")
    if not job.get("recommended_params"):
        raise ParamsError(f"job {job_id} has no recommended parameters")
    baseline = baseline if baseline is not None else job.get("current_params")
    applied = apply(tx, job["strategy"], job["recommended_params"], actor=actor, at=at,
                    source="optimizer", baseline=baseline, job_id=job_id,
                    reason=f"optimizer job {job_id} approved by {actor}")
    tx.put(JOBS, job_id, {**job, "status": "approved", "decided_by": job.get("decided_by") or actor,
                          "decided_at": job.get("decided_at") or at.isoformat(),
                          "applied_version": applied.version, "applied_at": at.isoformat()})
    _audit(tx, f"optimizer-approved-{job_id}", "optimizer_approved", at, actor, job_id=job_id,
           strategy=job["strategy"], version=applied.version)
    return applied


def reject(tx: Transaction, job_id: str, *, actor: str, at: datetime, reason: str = "") -> dict:
    job = tx.get(JOBS, job_id)
    if job is None:
        raise ParamsError(f"unknown optimizer job {job_id}")
    if job.get("status") != "recommended":
        raise ParamsError(f"job {job_id} is {job.get('status')}: only a recommended job can be rejected")
    doc = {**job, "status": "rejected", "decided_by": actor, "decided_at": at.isoformat(),
           "reject_reason": reason}
    tx.put(JOBS, job_id, doc)
    _audit(tx, f"optimizer-rejected-{job_id}", "optimizer_rejected", at, actor, job_id=job_id,
           strategy=job.get("strategy"), reason=reason)
    return doc


def rollback(tx: Transaction, strategy: str, *, actor: str, at: datetime, to: int | None = None,
             baseline: Mapping[str, float] | None = None) -> Applied:
    """Make version `to` current again, as a new version. Default: the version that was in
    force before the current one (N - 1; 0 is the YAML)."""
    _, n = current(tx, strategy)
    if n == 0:
        raise ParamsError(f"{strategy} has no stored versions: the YAML values are in force")
    if to is None:
        to = n - 1
    if to < 0 or to >= n:
        raise ParamsError(f"{strategy}: cannot roll back to v{to} (current is v{n})")
    target = tx.get(VERSIONS, version_id(strategy, to))
    if target is None and to == 0 and baseline is not None:
        values = dict(baseline)
    elif target is None:
        raise ParamsError(f"{strategy}: version {to} is not recorded")
    else:
        values = target["values"]
    return apply(tx, strategy, values, actor=actor, at=at, source="rollback", restores=to,
                 reason=f"rollback of {strategy} to v{to} by {actor}")


def history(store: Store, strategy: str) -> list[dict]:
    """Every recorded version of a strategy, oldest first."""
    return [d for _, d in store.query(VERSIONS, [("strategy", "==", strategy)], order_by="version")]
