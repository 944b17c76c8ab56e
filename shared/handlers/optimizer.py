"""The optimizer step: accepts requests and records a job (the search itself is added by the
optimizer module; until then a job is recorded as `queued` with the request's window).

At most one job per strategy per cool-down period; every step is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.contracts import Envelope, Message, OptimizerRequest
from shared.ports import Clock, Transaction


@dataclass(frozen=True)
class OptimizerDeps:
    clock: Clock
    cooldown: timedelta = timedelta(hours=6)


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config") -> OptimizerDeps:
    return OptimizerDeps(clock=clock)


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: OptimizerDeps) -> list[Message]:
    if not isinstance(body, OptimizerRequest):
        return []
    now = deps.clock.now()
    gate = tx.get("optimizer_cooldown", body.strategy) or {}
    if gate.get("until") and gate["until"] > now.isoformat():
        tx.put("audit", f"optimizer-skipped-{envelope.id}", {
            "kind": "optimizer_skipped", "at": now.isoformat(), "strategy": body.strategy,
            "reason": f"cool-down until {gate['until']}", "request_reason": body.reason})
        return []
    job_id = f"job-{envelope.id[:12]}"
    tx.put("optimizer_jobs", job_id, {
        "job_id": job_id, "strategy": body.strategy, "reason": body.reason, "status": "queued",
        "window_start": body.window_start.isoformat(), "window_end": body.window_end.isoformat(),
        "requested_by": body.requested_by, "created_at": now.isoformat()})
    tx.put("optimizer_cooldown", body.strategy, {"until": (now + deps.cooldown).isoformat(), "job_id": job_id})
    tx.put("audit", f"optimizer-queued-{job_id}", {
        "kind": "optimizer_queued", "at": now.isoformat(), "strategy": body.strategy, "job_id": job_id})
    return []
