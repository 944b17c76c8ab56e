"""The re-tuning loop in one replay: a strategy loses → the risk step's loss trigger names it
→ the optimizer searches the same market's recent bars and recommends → a human approves
with `tradewinds params approve` while the replay is paused → the replay resumes and the
next bars vote with the new parameter version.

The market is stored 1-minute history with real structure (shared/market/history_market.py
replays it; the optimizer reads the same Parquet root, so it searches the bars the replay
traded): BTC/USDT on binance follows a 60-minute sine of 2 % amplitude with a little seeded
noise. The only strategy is a momentum instance whose current lookback (45 bars, 3/4 of the
period) lags the wave: its rate of change turns positive after the price has risen past its
mean, so it buys high and sells low, a loss every cycle. A short lookback follows the wave
and wins; the optimizer's space (lookback 3..60) holds it. The simulator's random walk has
no such structure: the guard would (rightly) refuse on it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from infra.cli import failures
from infra.cli.app import app
from infra.local.pipeline import LocalPipeline, RunConfig
from infra.topology import Subscription, load
from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import Bar, Signal
from shared.history import ParquetBarHistory

ROOT = Path(__file__).parents[2]
T0 = datetime(2026, 1, 5, tzinfo=UTC)
START = T0 + timedelta(hours=6)  # the optimizer's 6-hour window before the trigger is stored history
PERIOD, AMPLITUDE = 60, 0.02
CURRENT = {"lookback": 45.0, "threshold": 0.0035}


def sine_history(root: Path, hours: int = 12) -> Path:
    n = hours * 60
    t = np.arange(n)
    noise = np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.0002, n)))
    close = 40_000 * (1 + AMPLITUDE * np.sin(2 * np.pi * t / PERIOD)) * noise
    open_ = np.r_[close[0], close[:-1]]
    ParquetBarHistory(root).write(
        Bar(venue="binance", symbol="BTC/USDT", open_time=T0 + timedelta(minutes=i),
            open=Decimal(f"{open_[i]:.2f}"), high=Decimal(f"{max(open_[i], close[i]) * 1.0002:.2f}"),
            low=Decimal(f"{min(open_[i], close[i]) * 0.9998:.2f}"), close=Decimal(f"{close[i]:.2f}"),
            volume=Decimal(5))
        for i in range(n))
    return root


def retune_config(dst: Path, history: Path, **optimizer_overrides) -> Path:
    """The project's configuration with one momentum instance, the gate off, tight triggers and
    an optimizer that reads the replay's own history in a small walk-forward."""
    shutil.copytree(ROOT / "config", dst)

    def edit(name: str, change) -> None:
        doc = yaml.safe_load((dst / name).read_text())
        change(doc)
        (dst / name).write_text(yaml.safe_dump(doc))

    edit("signals.yaml", lambda g: g["standing_aside"].update(enabled=False))
    edit("risk.yaml", lambda r: r["optimizer_triggers"].update(
        consecutive_losers=2, window_days=0.25, cooldown_minutes=600, max_drawdown_pct=50))
    edit("optimizer.yaml", lambda o: o.update(
        history={"source": "parquet", "root": str(history)},
        search={"method": "random", "trials_per_fold": 24, "min_trials_per_fold": 4, "seed": 1, "max_workers": 1},
        walk_forward={"folds": 2, "in_sample_ratio": 2, "min_out_of_sample_bars": 60},
        guards={"min_trades": 2, "min_oos_trades": 2, "collapse_ratio": 0.25, "min_improvement": 0.1,
                **optimizer_overrides}))
    for f in (dst / "strategies").glob("*.yaml"):
        f.unlink()
    (dst / "strategies" / "momentum.yaml").write_text(yaml.safe_dump([{
        "name": "momentum", "plugin": "momentum", "enabled": True, "symbols": ["BTC/USDT"],
        "timeframe": "1m", "weight": 1.0,
        "params": {"lookback": {"value": CURRENT["lookback"], "min": 3, "max": 60, "step": 1, "kind": "int"},
                   "threshold": {"value": CURRENT["threshold"], "min": 0.0005, "max": 0.01, "step": 0.0005}}}]))
    return dst


def topology_with_recorder():
    """The real topology plus one more subscriber on `signals`, as an archive would be."""
    t = load()
    extra = Subscription(name="test-signals", topic="signals", consumer="test", delivery="push")
    return t.model_copy(update={"subscriptions": {**t.subscriptions, extra.name: extra}})


def segment(base: Path, cfg_dir: Path, history: Path, hours: float, signals: list, resume: bool = False):
    pipeline = LocalPipeline(RunConfig(hours=hours, config_dir=cfg_dir, runs_dir=base, run_id="loop",
                                       data=history, start=START, arbitrage=False, resume=resume),
                             topology=topology_with_recorder())
    pipeline.bus.subscribe("test-signals", lambda env: signals.append((pipeline.clock.now(), env.decode())))
    pipeline.run()
    pipeline.store.close()
    return pipeline


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    base = tmp_path_factory.mktemp("retune")
    history = sine_history(base / "history")
    cfg_dir = retune_config(base / "config", history)
    signals: list[tuple[datetime, Signal]] = []
    first = segment(base, cfg_dir, history, 3, signals)
    state = first.cfg.run_dir / "state.sqlite"
    paused = SqliteStore(state)
    before = {
        "jobs": [d for _, d in paused.query("optimizer_jobs")],
        "triggers": [d for _, d in paused.query("audit", [("kind", "==", "optimizer_trigger")])],
        "params": paused.get("params", "momentum"),
        "paused_at": first.clock.now(),
    }
    paused.close()
    assert len(before["jobs"]) == 1, before["jobs"]
    job = before["jobs"][0]
    approved = CliRunner().invoke(app, ["params", "approve", job["job_id"], "--state", str(state),
                                        "--config", str(cfg_dir)])
    assert approved.exit_code == 0, approved.output
    second = segment(base, cfg_dir, history, 2, signals, resume=True)
    return {"before": before, "job": job, "cli": approved.output, "signals": signals,
            "pipeline": second, "state": state}


def test_the_loss_trigger_names_the_strategy_that_lost(loop):
    (trigger,) = loop["before"]["triggers"]
    assert trigger["strategy"] == "momentum"  # not "ensemble"
    assert trigger["reason"] == "consecutive_losses"
    d = trigger["details"]
    assert d["consecutive_losers"] == "2" and d["threshold"] == "2" and d["params_version"] == "0"
    losses = [Decimal(x) for x in d["last_results_usd"].split(", ")]
    assert len(losses) == 2 and all(x < 0 for x in losses)  # the lagging lookback bought high, sold low
    assert Decimal(d["window_pnl_usd"]) < 0


def test_the_optimizer_searched_the_replayed_market_and_recommends_with_its_numbers(loop):
    job = loop["job"]
    assert job["strategy"] == "momentum" and job["reason"] == "consecutive_losses"
    assert job["status"] == "recommended", job["note"]
    # the 6-hour window before the trigger, read from the history the replay trades
    assert job["data_source"] == "history (360 of 360 bars)"
    assert job["current_params"] == CURRENT and job["params_version"] == 0
    rec = job["recommended_params"]
    assert rec["lookback"] < CURRENT["lookback"]  # a lookback that follows the wave
    # the verdict in numbers: out-of-sample vs current, in-sample, then each fold
    assert job["recommended_report"]["score"] > job["current_report"]["score"] + 0.1
    assert job["note"].startswith("walk-forward out-of-sample sharpe ")
    assert "in-sample" in job["note"] and "2 folds: fold 0 bars 0-180 | 180-270" in job["note"]
    assert loop["before"]["params"] is None  # nothing applied before a human approves


def test_approval_while_paused_makes_the_next_bars_vote_with_the_new_version(loop):
    assert "is now v1" in loop["cli"]
    store = SqliteStore(loop["state"])
    try:
        current = store.get("params", "momentum")
        assert current["version"] == 1 and current["job_id"] == loop["job"]["job_id"]
        assert current["values"] == loop["job"]["recommended_params"]
        assert store.get("optimizer_jobs", loop["job"]["job_id"])["status"] == "approved"
        audit = [d for _, d in store.query("audit", [("kind", "==", "params_applied")])]
        # dated at the replay's clock, where it was paused: the audit trail stays in order
        paused_at = loop["before"]["paused_at"].isoformat()
        assert [(a["strategy"], a["version"], a["job_id"], a["at"]) for a in audit] == [
            ("momentum", 1, loop["job"]["job_id"], paused_at)]
        after = [(at, s) for at, s in loop["signals"] if at > loop["before"]["paused_at"]]
        before = [(at, s) for at, s in loop["signals"] if at <= loop["before"]["paused_at"]]
        assert before and all(s.params_version == 0 for _, s in before)
        assert after and all(s.params_version == 1 and s.strategy == "momentum" for _, s in after)
        # the new lookback follows the wave: the round trips it opens (and closes) now win
        first_buy = min(at for at, s in after if s.side.value == "buy").isoformat()
        trades = [d for _, d in store.query("trades") if d["closed_at"] > first_buy]
        assert trades and all(t["strategy"] == "momentum" and Decimal(t["pnl_usd"]) > 0 for t in trades), trades
    finally:
        store.close()


def test_a_refusal_explains_itself_in_numbers_and_cannot_be_approved(tmp_path, capsys):
    """The same loop with a guard no candidate can pass: the job says why, with the scores."""
    history = sine_history(tmp_path / "history")
    cfg_dir = retune_config(tmp_path / "config", history, min_improvement=10_000)
    first = segment(tmp_path, cfg_dir, history, 3, [])
    store = SqliteStore(first.cfg.run_dir / "state.sqlite")
    try:
        (job,) = [d for _, d in store.query("optimizer_jobs")]
    finally:
        store.close()
    assert job["status"] == "no_improvement" and job["recommended_params"] == {}
    note = job["note"]
    assert note.startswith("walk-forward out-of-sample sharpe ") and "does not beat the current " in note
    assert "by 10000" in note and "(in-sample " in note  # the guard and the in-sample score
    assert "2 folds: fold 0 bars 0-180 | 180-270: sharpe IS " in note and "fold 1 bars 90-270 | 270-360" in note
    code = failures.run(app, ["params", "approve", job["job_id"], "--state",
                              str(first.cfg.run_dir / "state.sqlite"), "--config", str(cfg_dir)])
    _out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert f"job {job['job_id']} is no_improvement: only a recommended job can be approved" in err
