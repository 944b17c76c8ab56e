"""A replay can be stopped and resumed from its store: the result is the same run."""

import pytest

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig

SAME = ("signals", "orders_approved", "orders_denied", "fills", "fees_usd", "realised_pnl_usd",
        "total_pnl_usd", "arbitrage_executed", "closed_trades", "ledger_consistent", "end")


def test_two_hours_then_two_more_equal_four_hours(tmp_path):
    whole = LocalPipeline(RunConfig(hours=1.5, seed=14, runs_dir=tmp_path, run_id="whole"))
    whole.run()
    first = LocalPipeline(RunConfig(hours=0.75, seed=14, runs_dir=tmp_path, run_id="halves"))
    first.run()
    first.store.close()
    second = LocalPipeline(RunConfig(hours=0.75, seed=999, runs_dir=tmp_path, run_id="halves", resume=True))
    assert second.cfg.seed == 14  # the run's own market, whatever the options say
    second.run()
    a, b = run_summary.build(whole), run_summary.build(second)
    assert a["fills"] > 0
    assert {k: a[k] for k in SAME} == {k: b[k] for k in SAME}
    assert b["resumed"] and b["bars_processed"] == a["bars_processed"]  # counted from the store


def test_a_run_id_is_not_reused_by_accident_and_resume_needs_a_run(tmp_path):
    LocalPipeline(RunConfig(hours=0.1, seed=14, runs_dir=tmp_path, run_id="r1")).run()
    with pytest.raises(ValueError, match="exists"):
        LocalPipeline(RunConfig(hours=0.1, runs_dir=tmp_path, run_id="r1"))
    with pytest.raises(ValueError, match="no replay to resume"):
        LocalPipeline(RunConfig(hours=0.1, runs_dir=tmp_path, run_id="nope", resume=True))
