"""`tradewinds run --emulators` drives the same replay as the in-process default and gets
the same summary for the same seed."""

from __future__ import annotations

import pytest

from infra.local import summary
from infra.local.emulator_stack import EmulatorPipeline
from infra.local.pipeline import LocalPipeline, RunConfig

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(150)]
SAME = ("bars_processed", "signals", "orders_approved", "orders_denied", "denied_by_reason", "executions",
        "fills", "fees_usd", "realised_pnl_usd", "total_pnl_usd", "closed_trades", "notifications_sent",
        "dlq_count", "halted", "ledger_consistent", "end", "arbitrage_executed", "arbitrage_fills")
SEED = 14  # arbitrage fills in the first minutes, so fills and PnL are compared, not just zeros


def test_emulator_replay_matches_the_in_process_replay(emulator_hosts, tmp_path):
    hours = 0.1  # ~2.5 s per simulated minute through the emulators (15 bars a minute)
    local = LocalPipeline(RunConfig(hours=hours, seed=SEED, runs_dir=tmp_path / "local", run_id="a"))
    local.run()
    expected = summary.build(local)
    with EmulatorPipeline(RunConfig(hours=hours, seed=SEED, runs_dir=tmp_path / "emu", run_id="b")) as emu:
        emu.run()
        got = summary.build(emu)
    assert got["bars_processed"] == expected["bars_processed"] > 0
    assert expected["fills"] > 0 and expected["total_pnl_usd"] != "0.00"
    assert {k: got[k] for k in SAME} == {k: expected[k] for k in SAME}
    assert not emu.servers.urls or emu.consumer is None  # services stopped after the run
