"""A replay with a planted crash trips the panic brake, halts trading (state, Control
broadcast, critical alert, executor refusing new exposure) and shows it in the summary; the
same seed without the crash does not halt.

Book: 5 venues x (20,000 USDT + 0.1 BTC + 2 ETH), so equity ≈ 166,000 USDT and the 3 %
brake is ≈ 5,000. A 25 % BTC crash costs 0.5 BTC x 65,000 x 0.25 ≈ 8,000 on BTC/USDT,
partly offset through ETH/BTC marks: ≈ 3.9 % of equity — beyond 3 % with margin."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from infra.local import summary as run_summary
from infra.local.pipeline import DEFAULT_START, LocalPipeline, RunConfig

pytestmark = pytest.mark.timeout(60)
HOURS, SEED, CRASH_AT_H = 1.5, 3, 0.5  # under 2 h: the nightly optimizer (02:00) stays out


def replay(base: Path, run_id: str, crash=None):
    pipeline = LocalPipeline(RunConfig(hours=HOURS, seed=SEED, crash=crash, runs_dir=base, run_id=run_id))
    pipeline.run()
    return pipeline, run_summary.build(pipeline)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    return replay(base, "crash", crash=("BTC", CRASH_AT_H, 0.25)), replay(base, "calm")


def test_the_crash_trips_the_brake_and_the_summary_shows_it(runs):
    (pipeline, s), _ = runs
    assert s["halted"] is True and s["halt_cause"].startswith("daily loss")
    risk = pipeline.store.get("state", "risk")
    assert risk["halt_cause"] == "daily_loss" and risk["halted_by"] == "panic_brake"
    halted_at = risk["halted_at"]
    crash_at = DEFAULT_START + timedelta(hours=CRASH_AT_H)
    assert crash_at.isoformat() <= halted_at <= (crash_at + timedelta(minutes=5)).isoformat()
    assert Decimal(risk["halt_figures"]["loss_pct"]) > 3
    [entry] = pipeline.store.query("audit", [("kind", "==", "halt")])
    assert entry[1]["cause"] == "daily_loss"
    assert s["ledger_consistent"] and s["dlq_count"] == 0


def test_the_halt_is_broadcast_alerted_and_enforced(runs):
    (pipeline, _), _ = runs
    halted_at = pipeline.store.get("state", "risk")["halted_at"]
    sent = [json.loads(line) for line in (pipeline.cfg.run_dir / "notifications.jsonl").read_text().splitlines()]
    [alert] = [n for n in sent if n["title"] == "Trading halted"]
    assert alert["severity"] == "critical" and "daily loss" in alert["text"]
    assert pipeline.deps["executor"].halted  # the Control(halt) reached the executor
    later = [d for _, d in pipeline.store.query("orders") if d.get("cause_id") and d["updated_at"] > halted_at]
    assert all(d["side"] == "sell" for d in later)  # only reducing orders after the halt
    audits = [d for _, d in pipeline.store.query("audit", [("kind", "==", "risk_denied")]) if d["at"] > halted_at]
    assert all(any(r.startswith(("halted", "nothing_to_sell")) for r in d["reasons"]) for d in audits)


def test_the_same_seed_without_a_crash_does_not_halt(runs):
    _, (pipeline, s) = runs
    assert s["halted"] is False and s["halt_cause"] == ""
    assert pipeline.store.query("audit", [("kind", "==", "halt")]) == []
    assert s["fills"] > 0  # it traded
