"""A replay killed with SIGKILL mid-run (its store writes behind, in whole batches) resumes from
the last state the file holds: the resumed run finishes, its ledger matches its fills and its
balances are the start plus every flow (the summary's two checks, computed from the raw docs)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)
ROOT = Path(__file__).resolve().parents[2]


def tradewinds(*args: str, runs: Path) -> list[str]:
    return [sys.executable, "-m", "infra.cli.app", "run", "--seed", "14", "--runs-dir", str(runs),
            "--config", str(ROOT / "config"), *args]


def test_a_killed_replay_resumes_from_a_whole_batch_and_reconciles(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(tradewinds("--hours", "6", runs=runs), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        db = None
        while time.monotonic() < deadline:  # until the store has written at least one batch
            found = list(runs.glob("*/state.sqlite"))
            if found:
                db = found[0]
                with sqlite3.connect(db) as con:
                    if con.execute("select count(*) from docs where collection = 'executions'").fetchone()[0]:
                        break
            time.sleep(0.5)
        assert db is not None and proc.poll() is None, "the replay wrote nothing before the deadline"
    finally:
        proc.send_signal(signal.SIGKILL)  # our own child, by its pid
        proc.wait(10)
    run_id = db.parent.name
    assert not (db.parent / "summary.json").exists()  # it died before the end
    done = subprocess.run(tradewinds("--hours", "0.5", "--resume", run_id, runs=runs), cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((db.parent / "summary.json").read_text())
    assert summary["resumed"] is True and summary["ledger_consistent"] and summary["balances_consistent"]
    assert summary["dlq_count"] == 0 and summary["fills"] > 0
