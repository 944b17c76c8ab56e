"""A replay keeps the marks of the reference symbols (BNB/USDT, GBP/USDT: config
`reference_symbols`) that no strategy trades, and its books stay consistent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig

pytestmark = pytest.mark.timeout(300)


def test_a_one_hour_replay_ends_with_bnb_and_gbp_marks(tmp_path):
    pipeline = LocalPipeline(RunConfig(hours=1, seed=7, runs_dir=tmp_path, run_id="ref"))
    pipeline.run()
    s = run_summary.build(pipeline)
    last_minute = (pipeline.cfg.start + timedelta(minutes=59)).isoformat()
    for key, start in (("BNB-USDT", Decimal(600)), ("GBP-USDT", Decimal("1.27"))):
        mark = pipeline.store.get("marks", key)
        assert mark is not None and mark["at"] == last_minute  # the last bar of the hour
        assert abs(Decimal(mark["price"]) / start - 1) < Decimal("0.05")  # a small walk from the start
    windows = pipeline.store.get("windows", "_index")["keys"]
    assert not [k for k in windows if "BNB" in k or "GBP" in k]  # marks only: no strategy window
    assert s["balances_consistent"], s["balances_reconcile"]
    assert s["ledger_consistent"] and s["dlq_count"] == 0


def test_a_resumed_replay_continues_the_same_reference_walk(tmp_path):
    whole = LocalPipeline(RunConfig(hours=1, seed=7, runs_dir=tmp_path, run_id="whole"))
    whole.run()
    first = LocalPipeline(RunConfig(hours=0.5, seed=7, runs_dir=tmp_path, run_id="halves"))
    first.run()
    first.store.close()
    second = LocalPipeline(RunConfig(hours=0.5, runs_dir=tmp_path, run_id="halves", resume=True))
    second.run()
    for key in ("BNB-USDT", "GBP-USDT"):
        assert second.store.get("marks", key) == whole.store.get("marks", key)
