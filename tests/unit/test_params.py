"""Versioned parameters: approve / reject, versions, hot reload in the signal step,
rollback, safe bounds, audit."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import Command
from shared.handlers.signal import _current_params
from shared.params import versions
from shared.params.versions import ParamsError
from tests.optimizer_fixtures import momentum_spec

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 1, 10, tzinfo=UTC)


def recommended_job(store, job_id="job-1", values=None, strategy="momo"):
    store.put("optimizer_jobs", job_id, {
        "job_id": job_id, "strategy": strategy, "status": "recommended",
        "current_params": {"lookback": 3.0, "threshold": 0.05},
        "recommended_params": values or {"lookback": 12.0, "threshold": 0.002}})


def live_params(store, spec):
    with store.transaction() as tx:
        return _current_params(tx, spec)


def test_approve_applies_a_new_version_that_the_signal_step_reads_on_the_next_bar():
    store, spec = SqliteStore(), momentum_spec()
    assert live_params(store, spec) == ({"lookback": 3.0, "threshold": 0.05}, 0)  # the YAML
    recommended_job(store)
    with store.transaction() as tx:
        applied = versions.approve(tx, "job-1", actor="cli:alice", at=T0)
    assert applied.version == 1
    assert applied.control.command is Command.RELOAD_PARAMS
    assert applied.control.args == {"strategy": "momo", "version": "1"}
    assert live_params(store, spec) == ({"lookback": 12.0, "threshold": 0.002}, 1)  # hot reload
    job = store.get("optimizer_jobs", "job-1")
    assert job["status"] == "approved" and job["decided_by"] == "cli:alice" and job["applied_version"] == 1
    v0, v1 = versions.history(store, "momo")
    assert v0["source"] == "yaml" and v0["values"] == {"lookback": 3.0, "threshold": 0.05}
    assert v1["source"] == "optimizer" and v1["job_id"] == "job-1" and v1["previous_version"] == 0
    kinds = sorted(d["kind"] for _, d in store.query("audit"))
    assert kinds == ["optimizer_approved", "params_applied"]
    with store.transaction() as tx, pytest.raises(ParamsError, match="approved by cli:alice"):
        versions.approve(tx, "job-1", actor="cli:bob", at=T0)


def test_a_telegram_approval_is_completed_by_approve():
    """/approve in Telegram only marks the job; approve() applies it, keeping the decider."""
    store, spec = SqliteStore(), momentum_spec()
    recommended_job(store)
    job = store.get("optimizer_jobs", "job-1")
    store.put("optimizer_jobs", "job-1", {**job, "status": "approved", "decided_by": "telegram:42",
                                          "decided_at": T0.isoformat()})
    with store.transaction() as tx:
        applied = versions.approve(tx, "job-1", actor="optimizer", at=T0 + timedelta(minutes=1))
    assert applied.version == 1 and store.get("params", "momo")["updated_by"] == "telegram:42"
    assert live_params(store, spec)[1] == 1


def test_reject_changes_nothing_live_and_only_recommended_jobs_are_decided():
    store, spec = SqliteStore(), momentum_spec()
    recommended_job(store)
    with store.transaction() as tx:
        versions.reject(tx, "job-1", actor="cli:alice", at=T0, reason="too aggressive")
    assert store.get("optimizer_jobs", "job-1")["status"] == "rejected"
    assert live_params(store, spec) == ({"lookback": 3.0, "threshold": 0.05}, 0)
    assert store.get("audit", "optimizer-rejected-job-1")["reason"] == "too aggressive"
    with store.transaction() as tx, pytest.raises(ParamsError, match="only a recommended job"):
        versions.approve(tx, "job-1", actor="x", at=T0)
    with store.transaction() as tx, pytest.raises(ParamsError, match="unknown optimizer job"):
        versions.reject(tx, "job-404", actor="x", at=T0)


def test_versions_grow_and_rollback_restores_earlier_values_as_a_new_version():
    store, spec = SqliteStore(), momentum_spec()
    for i, lookback in enumerate((12.0, 20.0), start=1):
        recommended_job(store, f"job-{i}", {"lookback": lookback, "threshold": 0.002})
        with store.transaction() as tx:
            versions.approve(tx, f"job-{i}", actor="cli:alice", at=T0 + timedelta(hours=i))
    assert live_params(store, spec) == ({"lookback": 20.0, "threshold": 0.002}, 2)
    with store.transaction() as tx:
        back = versions.rollback(tx, "momo", actor="cli:alice", at=T0 + timedelta(hours=3))
    assert back.version == 3 and back.values["lookback"] == 12.0  # default: the version before
    assert back.control.args == {"strategy": "momo", "version": "3"}
    assert live_params(store, spec) == ({"lookback": 12.0, "threshold": 0.002}, 3)
    with store.transaction() as tx:
        yaml = versions.rollback(tx, "momo", actor="cli:alice", at=T0 + timedelta(hours=4), to=0)
    assert yaml.version == 4 and live_params(store, spec) == ({"lookback": 3.0, "threshold": 0.05}, 4)
    history = versions.history(store, "momo")
    assert [(h["version"], h["source"], h["restores"]) for h in history] == [
        (0, "yaml", None), (1, "optimizer", None), (2, "optimizer", None), (3, "rollback", 1), (4, "rollback", 0)]
    assert len([d for _, d in store.query("audit") if d["kind"] == "params_applied"]) == 4
    with store.transaction() as tx, pytest.raises(ParamsError, match="cannot roll back to v9"):
        versions.rollback(tx, "momo", actor="x", at=T0, to=9)


def test_rollback_without_versions_is_refused():
    with SqliteStore().transaction() as tx, pytest.raises(ParamsError, match="YAML values are in force"):
        versions.rollback(tx, "momo", actor="x", at=T0)


def test_safe_bounds_decide_auto_apply():
    spec = momentum_spec(safe=(5, 30))
    assert versions.safe_violations(spec, {"lookback": 10.0, "threshold": 0.01}) == []
    problems = versions.safe_violations(spec, {"lookback": 40.0, "threshold": 0.01, "other": 1.0})
    assert problems == ["lookback=40 outside safe range [5, 30]", "other: not a declared parameter"]
    edge = versions.safe_violations(spec, {"lookback": 30.0})
    assert edge == []  # bounds are inclusive
