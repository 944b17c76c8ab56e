"""What the console's admin actions do, over the store and the bus; each one audited.

Every action writes an `audit` document {kind, at, actor, reason, details} in the same
transaction as the change it makes (`actor` is the token's name, plus the operator when the
request names one: "api:admin:alice"). A refusal raises `ActionError(status, message)`: the
router answers it as it is (404 unknown, 409 conflict, 422 bad value, 502 venue, 503 missing).

- settings (`shared.risk.settings`): a change is laid over the current version, validated
  against the risk config, and written as version N+1 to `settings/current` and
  `settings_versions/{N+1}`, only if the caller saw version N (`expected_version`); a restore
  writes a new version equal to an earlier one (version 0: the file's values, no overrides).
  Money fields must be decimal strings. The risk step reads the current version on every message.
- cancel: an active order is cancelled at its venue (`cancel_order` by the venue's id, or
  `cancel_order_by_client_id`) through the venue account reconciliation reads, then settled
  to the venue's truth (`shared.execution.reconcile.settle_order`: state, and the Execution of
  any fill in the pending outbox, published at once). A venue account with no cancel (paper:
  IOC orders never rest) answers 409 and the order waits for reconciliation.
- optimizer: a run publishes an OptimizerRequest on `optimizer-requests` and records the job as
  "requested" (the optimizer overwrites it; its job id is derived from the envelope id as the
  optimizer does); approve, reject and rollback go through `shared.params.versions` as the
  Telegram buttons do, and an applied version's Control(reload_params) goes on `control`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.contracts import Control, OptimizerRequest, derive_id, wrap
from shared.errors import OrderNotFound
from shared.execution import lifecycle
from shared.execution.reconcile import ReconcileReport, settle_order
from shared.execution.routing import sanitise
from shared.params import versions
from shared.ports import Bus, Store, Transaction
from shared.risk import settings
from shared.risk.config import RiskConfig

AUDIT = "audit"
OPTIMIZER_TOPIC, CONTROL_TOPIC = "optimizer-requests", "control"
DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")


class ActionError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def audit(tx: Transaction | Store, kind: str, at: datetime, actor: str, reason: str, **details: Any) -> None:
    tx.put(AUDIT, f"console-{kind}-{at.isoformat()}-{uuid.uuid4().hex[:8]}", {
        "kind": kind, "at": at.isoformat(), "actor": actor, "reason": reason, "details": details})


# -- settings ------------------------------------------------------------------------------
def _merge(base: Mapping, extra: Mapping) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def _money_strings(patch: Mapping[str, Any]) -> None:
    """Money fields (Decimal in RiskConfig) must come as decimal strings, as every amount does."""
    for section, values in patch.items():
        model = RiskConfig.model_fields.get(section)
        if model is None or not isinstance(values, Mapping) or not isinstance(model.annotation, type):
            continue  # settings.validate names what is wrong
        fields = getattr(model.annotation, "model_fields", {})
        for name, value in values.items():
            if name in fields and fields[name].annotation is Decimal and not (
                    isinstance(value, str) and DECIMAL.fullmatch(value)):
                raise ActionError(422, f'{section}.{name}: must be a decimal string such as "500" '
                                       "(ASCII digits, an optional point, no sign)")


def _write_version(tx: Transaction, overlay: dict, current: int, *, actor: str, reason: str, at: datetime,
                   kind: str, restores: int | None = None, **details: Any) -> dict:
    new = current + 1
    doc = {"version": new, "risk": overlay, "updated_by": actor, "updated_at": at.isoformat(),
           "reason": reason, "restores": restores}
    tx.put(*settings.CURRENT, doc)
    tx.put(settings.VERSIONS, str(new), doc)
    audit(tx, kind, at, actor, reason, version=new, previous_version=current, restores=restores, **details)
    return doc


def _checked(base: RiskConfig | None, overlay: dict) -> None:
    if base is None:
        raise ActionError(503, "no risk config loaded: settings cannot be validated")
    try:
        settings.validate(base, overlay)
    except settings.SettingsError as exc:
        raise ActionError(422, str(exc)) from None


def put_settings(store: Store, base: RiskConfig | None, patch: Mapping[str, Any], *, expected_version: int,
                 actor: str, reason: str, at: datetime) -> dict:
    if not patch:
        raise ActionError(422, "risk: nothing to change")
    _money_strings(patch)
    with store.transaction() as tx:
        doc = tx.get(*settings.CURRENT) or {}
        current = int(doc.get("version", 0))
        if expected_version != current:
            raise ActionError(409, f"settings are at version {current}, not {expected_version}: "
                                   "reload them and apply the change again")
        overlay = _merge(doc.get("risk") or {}, patch)
        _checked(base, overlay)
        return _write_version(tx, overlay, current, actor=actor, reason=reason, at=at,
                              kind="settings_changed", changes=dict(patch))


def restore_settings(store: Store, base: RiskConfig | None, version: int, *, actor: str, reason: str,
                     at: datetime) -> dict:
    with store.transaction() as tx:
        doc = tx.get(*settings.CURRENT) or {}
        current = int(doc.get("version", 0))
        old = {"risk": {}} if version == 0 else tx.get(settings.VERSIONS, str(version))
        if old is None:
            raise ActionError(404, f"no settings version {version} (current is {current})")
        overlay = dict(old.get("risk") or {})
        _checked(base, overlay)
        return _write_version(tx, overlay, current, actor=actor, reason=reason, at=at,
                              kind="settings_restored", restores=version)


# -- orders --------------------------------------------------------------------------------
def cancel_order(store: Store, accounts: Mapping[str, Any] | None, client_order_id: str, *, actor: str,
                 reason: str, at: datetime, publish_pending: Callable[[], int]) -> dict:
    rec = lifecycle.load(store, client_order_id)
    if rec is None:
        raise ActionError(404, f"no order {client_order_id}")
    if rec.state.terminal:
        raise ActionError(409, f"order {client_order_id} is already {rec.state.value}: nothing to cancel")
    account = (accounts or {}).get(rec.venue)
    by_id = getattr(account, "cancel_order", None) if rec.venue_order_id else None
    by_client = getattr(account, "cancel_order_by_client_id", None)
    if by_id is None and by_client is None:
        audit(store, "order_cancel", at, actor, reason, client_order_id=client_order_id, venue=rec.venue,
              outcome="nothing to cancel")
        raise ActionError(409, f"nothing to cancel at {rec.venue}: IOC orders never rest (the order stays "
                               f"{rec.state.value} until reconciliation settles it)")
    try:
        answer = by_id(rec.venue_order_id, rec.symbol) if by_id else by_client(client_order_id, rec.symbol)
        said = str((answer or {}).get("status", "accepted"))
    except OrderNotFound:
        said = "not open at the venue"
    except Exception as exc:  # noqa: BLE001 - the venue's refusal or silence, told to the operator
        detail = sanitise(f"{type(exc).__name__}: {exc}")
        audit(store, "order_cancel", at, actor, reason, client_order_id=client_order_id, venue=rec.venue,
              outcome=f"venue error: {detail}")
        raise ActionError(502, f"{rec.venue} did not take the cancel: {detail}") from None
    report = ReconcileReport(at=at.isoformat())
    try:
        settle_order(store, {rec.venue: account}, rec, report, at)
    except Exception as exc:  # noqa: BLE001 - the cancel went out: reconciliation settles it later
        report.errors.append(sanitise(f"{type(exc).__name__}: {exc}"))
    if report.executions:
        publish_pending()
    after = lifecycle.load(store, client_order_id) or rec
    audit(store, "order_cancel", at, actor, reason, client_order_id=client_order_id, venue=rec.venue,
          outcome=f"venue says {said}", state=after.state.value, errors=report.errors)
    return {"client_order_id": client_order_id, "state": after.state.value, "venue_answer": said}


# -- optimizer and parameters ----------------------------------------------------------------
def run_optimizer(store: Store, bus: Bus, strategy: str, window_days: float, *, actor: str, reason: str,
                  at: datetime) -> dict:
    request = OptimizerRequest(strategy=strategy, reason="manual", window_days=window_days,
                               requested_by=actor, details={"note": reason[:200]})
    envelope = wrap(request, ts=at)
    job_id = f"job-{derive_id(envelope.id, 'optimizer-job')[:12]}"  # as shared.handlers.optimizer names it
    job = {"job_id": job_id, "strategy": strategy, "reason": "manual", "status": "requested",
           "window_days": window_days, "requested_by": actor, "created_at": at.isoformat(), "note": reason}
    with store.transaction() as tx:
        tx.create_if_absent("optimizer_jobs", job_id, job)
        audit(tx, "optimizer_run", at, actor, reason, job_id=job_id, strategy=strategy, window_days=window_days)
    try:
        bus.publish(OPTIMIZER_TOPIC, envelope)
    except Exception as exc:  # noqa: BLE001 - recorded and told: nothing was asked
        store.put("optimizer_jobs", job_id, {**job, "status": "failed", "note": f"not published: {exc!r}"[:300]})
        raise ActionError(503, f"the optimizer request could not be published: {type(exc).__name__}") from None
    return {"job_id": job_id, "status": "requested"}


def _params_error(exc: versions.ParamsError) -> ActionError:
    text = str(exc)
    return ActionError(404 if text.startswith("unknown") or "not recorded" in text else 409, text)


def _publish_control(bus: Bus, control: Control, at: datetime) -> bool:
    try:
        bus.publish(CONTROL_TOPIC, wrap(control, ts=at))
        return True
    except Exception:  # noqa: BLE001 - the version is saved; the signal step reads it per bar anyway
        return False


def decide_job(store: Store, bus: Bus, job_id: str, approve: bool, *, actor: str, reason: str,
               at: datetime) -> dict:
    with store.transaction() as tx:
        try:
            if approve:
                applied = versions.approve(tx, job_id, actor=actor, at=at)
            else:
                versions.reject(tx, job_id, actor=actor, at=at, reason=reason)
                applied = None
        except versions.ParamsError as exc:
            raise _params_error(exc) from None
        job = tx.get("optimizer_jobs", job_id) or {}
        details = {"job_id": job_id, "strategy": job.get("strategy")}
        if applied is not None:
            details["version"] = applied.version
        audit(tx, "optimizer_approve" if approve else "optimizer_reject", at, actor, reason, **details)
    published = _publish_control(bus, applied.control, at) if applied is not None else None
    return {"job_id": job_id, "status": job.get("status"), "version": applied.version if applied else None,
            "control_published": published}


def rollback(store: Store, bus: Bus, strategy: str, version: int, *, actor: str, reason: str,
             at: datetime) -> dict:
    with store.transaction() as tx:
        try:
            applied = versions.rollback(tx, strategy, actor=actor, at=at, to=version)
        except versions.ParamsError as exc:
            raise _params_error(exc) from None
        audit(tx, "params_rollback", at, actor, reason, strategy=strategy, restores=version,
              version=applied.version)
    return {"strategy": strategy, "version": applied.version, "restores": version, "values": applied.values,
            "control_published": _publish_control(bus, applied.control, at)}
