"""`tradewinds optimize` records its job where `params approve` finds it: it prints the job id
and the verdict, the job is in the run's store with the same status, and approving a
recommended job makes it the version the signal step reads on its next bar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import failures
from infra.cli.app import app
from shared.adapters.local.sqlite_store import SqliteStore
from shared.handlers.signal import _current_params
from shared.strategies.config import load_strategies

pytestmark = pytest.mark.timeout(120)
CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_optimize_prints_the_job_it_recorded_and_params_approve_finds_it(tmp_path, capsys):
    state = tmp_path / "state.sqlite"
    SqliteStore(state)  # a run's (empty) store
    result = CliRunner().invoke(app, ["optimize", "momentum", "--days", "2", "--state", str(state),
                                      "--config", str(CONFIG), "--out", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    match = re.search(r"job (job-[0-9a-f]{12}): (\w+)", result.output)
    assert match, result.output
    job, status = match.groups()
    doc = SqliteStore(state).get("optimizer_jobs", job)
    assert doc["status"] == status and doc["strategy"] == "momentum" and doc["requested_by"].startswith("cli:")
    assert doc["note"] and doc["current_params"]
    assert list((tmp_path / "reports").glob(f"*{job}*.html"))  # the report is named by the job
    code = failures.run(app, ["params", "approve", job, "--state", str(state), "--config", str(CONFIG)])
    out, err = capsys.readouterr()
    spec = next(s for s in load_strategies(CONFIG / "strategies") if s.name == "momentum")
    with SqliteStore(state).transaction() as tx:
        params, version = _current_params(tx, spec)
    if status == "recommended":
        assert code == 0 and "momentum is now v1" in out
        assert version == 1 and params == {**spec.values(), **doc["recommended_params"]}
    else:  # nothing to approve: one line, exit 2, the parameters unchanged
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
        assert version == 0 and params == spec.values()


def test_optimize_with_a_missing_state_fails_before_searching(tmp_path):
    result = CliRunner().invoke(app, ["optimize", "momentum", "--days", "2", "--state", str(tmp_path / "no.sqlite"),
                                      "--config", str(CONFIG)])
    assert result.exit_code == 2 and "no such file" in result.output
    assert "walk-forward" not in result.output
