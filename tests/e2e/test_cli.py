"""The `tradewinds` CLI: help, a short replay, and the dead-letter commands."""

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from infra.cli.app import app
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.contracts import Envelope

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "dlq", "data", "ml", "deploy", "params", "backtest", "optimize"):
        assert command in result.output


def test_short_replay_writes_a_summary(tmp_path):
    result = runner.invoke(app, ["run", "--hours", "0.25", "--seed", "14", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [summary] = list(tmp_path.glob("*/summary.json"))
    data = json.loads(summary.read_text())
    assert data["bars_processed"] == 15 * (15 + 2) and data["ledger_consistent"]  # + BNB, GBP reference bars
    assert "bars processed" in result.output and "DLQ count" in result.output


def test_bad_option_values_get_a_clear_error(tmp_path):
    result = runner.invoke(app, ["run", "--crash", "BTC-3-15", "--runs-dir", str(tmp_path)])
    assert result.exit_code != 0 and "ASSET:HOURS:PCT" in result.output
    result = runner.invoke(app, ["run", "--hours", "0.1", "--venues", "nowhere", "--runs-dir", str(tmp_path)])
    assert result.exit_code != 0


def test_dlq_list_and_requeue(tmp_path):
    cfg = RunConfig(hours=0, runs_dir=tmp_path, run_id="poisoned")
    pipeline = LocalPipeline(cfg)
    poison = Envelope(id="poison-1", type="bar", ts=datetime(2026, 1, 5, tzinfo=UTC),
                      trace_id="t", body={"venue": "binance"})
    pipeline.bus.publish("market-bars", poison)
    pipeline.bus.drain()
    pipeline.store.close()
    listed = runner.invoke(app, ["dlq", "list", "poisoned", "--runs-dir", str(tmp_path), "--json"])
    assert listed.exit_code == 0, listed.output
    [dead] = [json.loads(line) for line in listed.output.splitlines()]
    assert dead["message_id"] == "poison-1" and dead["subscription"] == "signal-bars"
    assert dead["reason"].startswith("permanent: invalid bar body") and dead["status"] == "dead"
    assert runner.invoke(app, ["dlq", "list", "poisoned", "--runs-dir", str(tmp_path)]).exit_code == 0
    requeued = runner.invoke(app, ["dlq", "requeue", "poisoned", "--runs-dir", str(tmp_path)])
    assert requeued.exit_code == 0, requeued.output
    assert "requeued 1 message(s); 1 dead letter(s) remain" in requeued.output  # still poison
    missing = runner.invoke(app, ["dlq", "list", "nope", "--runs-dir", str(tmp_path)])
    assert missing.exit_code != 0


def test_show_notifications_prints_the_hourly_summaries(tmp_path):
    result = runner.invoke(app, ["run", "--hours", "2", "--seed", "14", "--runs-dir", str(tmp_path),
                                 "--show-notifications"])
    assert result.exit_code == 0, result.output
    assert result.output.count("Hourly summary") >= 2  # 01:00 and 02:00 UTC
    assert "Win rate" in result.output and "USDT" in result.output
    # each strategy's state: 2 h in, every voter is still scoring its paper trades
    assert "Strategies (the ensemble's gate)" in result.output and "warming up" in result.output
    data = json.loads((next(tmp_path.iterdir()) / "summary.json").read_text())
    assert data["strategies"] and all(v["state"] in ("warming_up", "standing_aside", "live")
                                      for v in data["strategies"].values())
