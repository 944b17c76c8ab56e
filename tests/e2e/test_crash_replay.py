"""The panic brake through the whole pipeline, on the one PnL definition.

Book: 5 venues x (20,000 USDT + 0.1 BTC + 2 ETH), NAV ≈ 166,000 USDT, the 3 % brake ≈ 5,000.

- A 25 % BTC crash of the holdings we STARTED with is the buy-and-hold benchmark's loss, not
  a trading loss: it moves NAV by ≈ 0.5 BTC x 65,000 x 0.25 ≈ 8,000 (≈ -4 % buy and hold) but
  not the total PnL (change of NAV against holding the start balances), so the brake — which
  reads that same total — does not trip, and the summary says both figures.
- What the system itself lost does trip it: the same crash, strategies only (no arbitrage), with
  the daily-loss limit set to 0.001 % of NAV (≈ 1.66 USDT) halts once the strategies' crash
  losses pass it; the halt's
  figures are the same computation as the summary (loss = PnL reference − total PnL), and the
  halt is broadcast, alerted and enforced (only reducing orders afterwards).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig
from tests.fast_strategies import write_fast_strategies

pytestmark = pytest.mark.timeout(120)
HOURS, SEED, CRASH_AT_H = 1.5, 3, 0.5  # under 2 h: the nightly optimizer (02:00) stays out
CONFIG = Path(__file__).resolve().parents[2] / "config"


def replay(base: Path, run_id: str, crash=None, config_dir: Path = CONFIG, arbitrage: bool = True):
    pipeline = LocalPipeline(RunConfig(hours=HOURS, seed=SEED, crash=crash, runs_dir=base, run_id=run_id,
                                       config_dir=config_dir, arbitrage=arbitrage))
    pipeline.run()
    return pipeline, run_summary.build(pipeline)


def tight_config(base: Path) -> Path:
    """The shipped config with the daily-loss limits at 0.001 % (about 1.66 USDT here) and
    the ensemble's gate off."""
    out = base / "config-tight"
    shutil.copytree(CONFIG, out)
    risk = yaml.safe_load((out / "risk.yaml").read_text())
    risk["panic"]["max_daily_loss_pct"] = 0.001
    (out / "risk.yaml").write_text(yaml.safe_dump(risk))
    # the gate off: every strategy trades from its first vote (with it, they would still be
    # voting on paper 1.5 h in, and lose nothing)
    signals = yaml.safe_load((out / "signals.yaml").read_text())
    signals["standing_aside"]["enabled"] = False
    (out / "signals.yaml").write_text(yaml.safe_dump(signals))
    return write_fast_strategies(out)  # strategy trades within the replay's hours


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    return (replay(base, "crash", crash=("BTC", CRASH_AT_H, 0.25)),
            # strategies only: the arbitrage's profit would otherwise cover their crash losses
            replay(base, "tight", crash=("BTC", CRASH_AT_H, 0.25), config_dir=tight_config(base), arbitrage=False))


def test_a_crash_of_the_start_holdings_is_the_benchmark_not_a_trading_loss(runs):
    (pipeline, s), _ = runs
    assert Decimal(s["buy_and_hold_return_pct"]) < -3  # the holdings lost more than the brake's 3 %
    assert s["halted"] is False and pipeline.store.query("audit", [("kind", "==", "halt")]) == []
    # the brake read the same figure the summary prints: today's PnL, far inside 3 %
    [day] = [d for _, d in pipeline.store.query("pnl_days")]
    assert Decimal(day["pnl_usd"]).quantize(Decimal("0.01")) == Decimal(s["total_pnl_usd"])
    assert abs(Decimal(s["total_pnl_usd"])) < Decimal("0.03") * Decimal(s["start_capital_usd"])
    # NAV = start capital's value now (buy and hold) + PnL, to the cent
    assert Decimal(s["end_nav_usd"]) - Decimal(s["buy_and_hold_usd"]) - Decimal(s["total_pnl_usd"]) \
        in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))
    assert s["ledger_consistent"] and s["balances_consistent"] and s["dlq_count"] == 0


def test_a_trading_loss_beyond_the_limit_trips_the_brake_with_the_same_figures(runs):
    _, (pipeline, s) = runs
    assert s["halted"] is True and s["halt_cause"].startswith("daily loss")
    risk = pipeline.store.get("state", "risk")
    assert risk["halt_cause"] == "daily_loss" and risk["halted_by"] == "panic_brake"
    figures = risk["halt_figures"]
    # loss = reference (0: the first day opened at a total PnL of 0) − total PnL at the halt
    assert Decimal(figures["loss_usd"]) == -Decimal(figures["total_pnl"])
    limit = Decimal("0.00001") * Decimal(figures["start_equity"])
    assert Decimal(figures["loss_usd"]) > limit.quantize(Decimal("0.01"))
    [entry] = pipeline.store.query("audit", [("kind", "==", "halt")])
    assert entry[1]["cause"] == "daily_loss" and entry[1]["figures"] == figures
    assert s["ledger_consistent"] and s["balances_consistent"] and s["dlq_count"] == 0


def test_the_halt_is_broadcast_alerted_and_enforced(runs):
    _, (pipeline, _) = runs
    halted_at = pipeline.store.get("state", "risk")["halted_at"]
    sent = [json.loads(line) for line in (pipeline.cfg.run_dir / "notifications.jsonl").read_text().splitlines()]
    [alert] = [n for n in sent if n["title"] == "Trading halted"]
    assert alert["severity"] == "critical" and "daily loss" in alert["text"]
    assert pipeline.deps["executor"].halted  # the Control(halt) reached the executor
    later = [d for _, d in pipeline.store.query("orders") if d.get("cause_id") and d["updated_at"] > halted_at]
    assert all(d["side"] == "sell" for d in later)  # only reducing orders after the halt
    audits = [d for _, d in pipeline.store.query("audit", [("kind", "==", "risk_denied")]) if d["at"] > halted_at]
    assert all(any(r.startswith(("halted", "nothing_to_sell")) for r in d["reasons"]) for d in audits)
