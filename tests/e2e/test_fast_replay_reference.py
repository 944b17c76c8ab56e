"""The replay built for speed (the store's write-behind replay mode, the cheaper optimizer
sampler) gives the same books as the replay before it, to the cent.

The reference figures below were produced from git HEAD 9e8bcd6 (before the speed work),
by replaying 2 simulated hours from 2026-01-05 00:00 UTC with the shipped config:

    LocalPipeline(RunConfig(hours=2, seed=SEED, runs_dir=tmp, run_id=...)).run()
    infra.local.summary.build(pipeline)

and copying the summary's fields here by hand. They are a recording, not a computation: a
change of the market simulator, the strategies or the config moves them on purpose and
then they are re-recorded the same way (say so in the commit).
"""

from __future__ import annotations

import pytest

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig

pytestmark = pytest.mark.timeout(120)

COMMON = {"bars_processed": 2040,  # 120 minutes x (5 venues x 3 symbols + 2 reference marks)
          "signals": 0, "orders_approved": 0, "orders_denied": 0, "denied_by_reason": {},
          "dlq_count": 0, "halted": False, "ledger_consistent": True, "balances_consistent": True}

REFERENCE = {
    7: {**COMMON, "executions": 40, "fills": 40, "arbitrage_executed": 19, "arbitrage_fills": 40,
        "closed_trades": 19, "end_nav_usd": "166998.43", "total_pnl_usd": "181.48",
        "total_pnl_exact": "181.48426998394", "fees_usd": "235.32", "realised_pnl_usd": "196.33",
        "buy_and_hold_usd": "166816.94",
        "attribution_usd": {"arb_cross": "184.96", "arb_triangle": "11.37", "rebalance": "-14.71",
                            "inventory_moves": "-0.14"},
        "costs": {"trading_fees_usd": "235.32", "transfer_fees_usd": "14.71", "transfers": "3",
                  "swept_to_cold_usd": "0.00"},
        "max_drawdown_usd": "7.08", "notifications_sent": 52,
        "near_misses_by_reason": {"fees": 1212, "inventory": 74},
        "pnl_days": {"2026-01-05": "181.48426998394"}},
    14: {**COMMON, "executions": 44, "fills": 44, "arbitrage_executed": 19, "arbitrage_fills": 44,
         "closed_trades": 19, "end_nav_usd": "167275.68", "total_pnl_usd": "167.41",
         "total_pnl_exact": "167.40735914600", "fees_usd": "155.16", "realised_pnl_usd": "175.89",
         "buy_and_hold_usd": "167108.27",
         "attribution_usd": {"arb_cross": "131.11", "arb_triangle": "44.78", "rebalance": "-8.78",
                             "inventory_moves": "0.29"},
         "costs": {"trading_fees_usd": "155.16", "transfer_fees_usd": "8.78", "transfers": "3",
                   "swept_to_cold_usd": "0.00"},
         "max_drawdown_usd": "8.82", "notifications_sent": 56,
         "near_misses_by_reason": {"fees": 1304, "inventory": 65},
         "pnl_days": {"2026-01-05": "167.40735914600"}},
}


@pytest.mark.parametrize("seed", sorted(REFERENCE))
def test_two_hours_equal_the_reference_to_the_cent(tmp_path, seed):
    pipeline = LocalPipeline(RunConfig(hours=2, seed=seed, runs_dir=tmp_path, run_id=f"ref{seed}"))
    pipeline.run()
    summary = run_summary.build(pipeline)
    expected = REFERENCE[seed]
    assert {k: summary[k] for k in expected} == expected
    # the 02:00 nightly optimisation ran on the last minute, for every enabled strategy
    jobs = [d for _, d in pipeline.store.query("optimizer_jobs")]
    assert jobs and all(d["status"] != "failed" for d in jobs), [d.get("note") for d in jobs]
    pipeline.store.close()
