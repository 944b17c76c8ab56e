"""The optimizer step end to end on small windows: statuses, reports, audit, cool-down,
split of "*", auto-apply inside the safe bounds only, and the look-ahead guard."""

from datetime import timedelta

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.backtest import BacktestConfig
from shared.contracts import Command, Control, OptimizerRequest, OptimizerResult, wrap
from shared.handlers import optimizer
from shared.optimize.job import run_job
from shared.optimize.space import Space
from tests.backtest_fixtures import LookAhead, wave_bars
from tests.optimizer_fixtures import END, deps, momentum_spec, small_config

pytestmark = pytest.mark.timeout(60)


def request(strategy="momo", days=3.0, at=END, tag="1"):
    body = OptimizerRequest(strategy=strategy, reason="consecutive_losses", window_start=at - timedelta(days=days),
                            window_end=at)
    return body, wrap(body, ts=at, id=f"req-{tag}-{strategy}")


def handle(store, d, body, env):
    with store.transaction() as tx:
        return optimizer.handle(body, env, tx, d)


def test_a_better_candidate_is_recommended_with_both_reports_and_audited():
    store, d = SqliteStore(), deps()
    body, env = request()
    out = handle(store, d, body, env)
    [result] = out
    assert isinstance(result, OptimizerResult) and result.status == "recommended", result.note
    assert result.current_params == {"lookback": 3.0, "threshold": 0.05}
    assert result.recommended_params != result.current_params
    assert result.recommended_report["sharpe"] > result.current_report["sharpe"]
    for report in (result.current_report, result.recommended_report):
        assert {"total_return_pct", "sharpe", "win_rate", "max_drawdown_pct", "trades", "window"} <= set(report)
    job = store.get("optimizer_jobs", result.job_id)
    assert job["status"] == "recommended" and len(job["folds"]) == 2 and job["bars"] == 3 * 1440
    assert "history" in job["data_source"]
    assert store.get("audit", f"optimizer-recommended-{result.job_id}")["kind"] == "optimizer_recommended"
    assert store.get("params", "momo") is None  # nothing applied without a human


def test_cool_down_allows_one_job_per_strategy():
    store, d = SqliteStore(), deps()
    first, env1 = request(tag="a")
    assert handle(store, d, first, env1)
    d.clock.advance(timedelta(hours=1))
    second, env2 = request(tag="b", at=d.clock.now())
    assert handle(store, d, second, env2) == []
    skipped = store.get("audit", f"optimizer-skipped-{env2.id}")
    assert skipped["kind"] == "optimizer_skipped" and "cool-down until" in skipped["reason"]
    assert len(store.query("optimizer_jobs")) == 1
    d.clock.advance(timedelta(hours=6))
    third, env3 = request(tag="c", at=d.clock.now())
    assert handle(store, d, third, env3)  # the cool-down is over
    assert len(store.query("optimizer_jobs")) == 2


def test_no_improvement_when_the_current_params_are_already_good():
    store = SqliteStore()
    d = deps(spec=momentum_spec(value_lookback=10, value_threshold=0.002),
             config=small_config(guards={"min_improvement": 5.0}))
    [result] = handle(store, d, *request())
    assert result.status == "no_improvement" and result.recommended_params == {}
    assert "does not beat" in result.note or "already the best" in result.note


def test_too_short_a_window_is_refused_without_cool_down():
    store, d = SqliteStore(), deps()
    body, env = request(days=0.2)
    [result] = handle(store, d, body, env)
    assert result.status == "refused" and "min_out_of_sample_bars" in result.note
    assert store.get("optimizer_cooldown", "momo") is None


def test_a_window_that_cannot_fit_the_budget_is_refused_saying_why():
    store = SqliteStore()
    d = deps(config=small_config(budget={"seconds": 1.0}))
    [result] = handle(store, d, *request(days=3))
    assert result.status == "refused"
    assert "1 s limit" in result.note and ("would fit" in result.note or "does not fit" in result.note)


def test_unknown_strategy_is_refused_and_star_is_split_per_strategy():
    store, d = SqliteStore(), deps()
    [result] = handle(store, d, *request(strategy="nope"))
    assert result.status == "refused" and "unknown strategy" in result.note
    out = handle(store, d, *request(strategy="*"))
    assert [m.strategy for m in out] == ["momo"] and all(isinstance(m, OptimizerRequest) for m in out)
    assert out[0].details["split_from"] == "req-1-*"


def test_auto_apply_only_inside_the_safe_bounds():
    store = SqliteStore()
    d = deps(config=small_config(auto_apply=True), spec=momentum_spec(safe=(3, 60)))
    out = handle(store, d, *request())
    result, control = out
    assert result.status == "applied"
    assert isinstance(control, Control) and control.command is Command.RELOAD_PARAMS
    assert control.args == {"strategy": "momo", "version": "1"}
    assert store.get("params", "momo")["values"] == result.recommended_params
    assert store.get("optimizer_jobs", result.job_id)["decided_by"] == "auto"
    # the same search with a safe range that excludes the recommendation: waits for a human
    store2 = SqliteStore()
    recommended = result.recommended_params["lookback"]
    d2 = deps(config=small_config(auto_apply=True),
              spec=momentum_spec(safe=(recommended + 1, 60) if recommended < 60 else (3, recommended - 1)))
    [result2] = handle(store2, d2, *request())
    assert result2.status == "recommended" and "not auto-applied" in result2.note
    assert "outside safe range" in result2.note and store2.get("params", "momo") is None


def test_a_look_ahead_strategy_is_refused():
    bars = wave_bars(3 * 1440)
    spec = momentum_spec()
    out = run_job(plugin=LookAhead(), space=Space.of(spec), current={"lookback": 3.0, "threshold": 0.05},
                  bars=[bars], configs=[BacktestConfig()],
                  symbols=["BTC/USDT"], cfg=small_config(), timer=lambda: 0.0)
    assert out.status == "refused" and "look-ahead" in out.note
