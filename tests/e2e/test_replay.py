"""The whole local pipeline: a short replay is deterministic, consistent and reported."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig


def replay(tmp_path: Path, run_id: str, **kw):
    cfg = RunConfig(runs_dir=tmp_path, run_id=run_id, **{"hours": 4, "seed": 3, **kw})
    pipeline = LocalPipeline(cfg)
    pipeline.run()
    return pipeline, run_summary.build(pipeline)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    a = replay(base, "a")
    b = replay(base, "b")
    return a, b


def test_replay_processes_every_bar_and_writes_a_summary(two_runs):
    (pipeline, s), _ = two_runs
    venues, symbols = len(s["venues"]), len(s["symbols"])
    assert venues >= 3 and symbols >= 3
    # + one BNB/USDT (binance) and one GBP/USDT (kraken) bar a minute: reference marks only
    assert s["bars_processed"] == 4 * 60 * (venues * symbols + 2)
    path = run_summary.write(s, pipeline.cfg.run_dir)
    assert json.loads(path.read_text())["bars_processed"] == s["bars_processed"]
    assert s["dlq_count"] == 0
    assert s["notifications_sent"] >= 4  # startup + hourly summaries


def test_same_seed_gives_the_same_run(two_runs):
    (_, a), (_, b) = two_runs
    keys = ("bars_processed", "signals", "orders_approved", "orders_denied", "fills", "fees_usd",
            "realised_pnl_usd", "total_pnl_usd", "denied_by_reason")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_ledger_pnl_equals_fills_and_fees(two_runs):
    (pipeline, s), _ = two_runs
    assert s["ledger_consistent"], s["ledger_check"]
    fills = [d for _, d in pipeline.store.query("executions") if Decimal(d["filled_quantity"]) > 0]
    assert Decimal(s["fees_usd"]) == sum((Decimal(d["fee_usd"]) for d in fills), Decimal(0)).quantize(Decimal("0.01"))


def test_every_signal_is_either_an_order_or_an_audited_denial(two_runs):
    (pipeline, s), _ = two_runs
    assert s["signals"] == s["orders_approved"] + len(pipeline.store.query("audit", [("kind", "==", "risk_denied")]))


def test_the_nightly_optimizer_ran_without_failing(two_runs):
    (pipeline, _), _ = two_runs  # the replay passes 02:00 UTC, when the nightly job fires
    jobs = [d for _, d in pipeline.store.query("optimizer_jobs")]
    assert jobs, "the nightly optimize request produced no job"
    assert all(d["status"] != "failed" for d in jobs), [d.get("note") for d in jobs]
