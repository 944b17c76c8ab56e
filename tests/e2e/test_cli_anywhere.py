"""The installed `tradewinds` works from any folder: help at 80 columns, `init`, a replay on the
packaged configuration, `show`, and `--resume` keeping each segment's summary.

Every command here runs the venv's console script in a temporary folder outside the repository.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from infra.cli import paths
from infra.cli.app import app
from shared.adapters.local.sqlite_store import SqliteStore
from shared.errors import ConfigError
from tests.e2e.cli_subprocess import run, run_dirs, stderr_lines

REPO = Path(__file__).resolve().parents[2]


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def _option_names(cmd) -> list[str]:
    return [o for p in cmd.params if p.param_type_name == "option" and not getattr(p, "hidden", False)
            for o in (*p.opts, *p.secondary_opts)]


def test_help_fits_80_columns_and_names_every_option_whole(tmp_path):
    top = run(["--help"], cwd=tmp_path)
    assert top.returncode == 0 and top.stderr == ""
    for name in ("run", "show", "init", "backtest", "dlq"):
        assert f"  {name} " in top.stdout
    sub = run(["run", "--help"], cwd=tmp_path)
    assert sub.returncode == 0
    for out in (top.stdout, sub.stdout):
        assert max(len(line) for line in out.splitlines()) <= 80
    assert "--show-notifications" in sub.stdout and "--no-arbitrage" in sub.stdout
    # every command of the tree, in process (the same click formatter), at 80 columns
    runner, root = CliRunner(), typer.main.get_command(app)
    for path, cmd in _commands(root):
        result = runner.invoke(app, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, (path, result.output)
        assert max(len(line) for line in result.output.splitlines()) <= 80, path
        for option in _option_names(cmd):
            assert option in result.output, (path, option)
        assert "…" not in result.output, path


def test_init_writes_an_editable_copy_that_commands_in_the_folder_use(tmp_path):
    made = run(["init", "desk"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    copy, packaged = tmp_path / "desk" / "config", paths.packaged()
    files = sorted(p.relative_to(packaged) for p in packaged.rglob("*.yaml"))
    assert "venues.yaml" in {f.as_posix() for f in files} and "strategies/momentum.yaml" in {f.as_posix() for f in files}
    assert sorted(p.relative_to(copy) for p in copy.rglob("*.yaml")) == files
    assert all((copy / f).read_bytes() == (packaged / f).read_bytes() for f in files)
    again = run(["init", "desk"], cwd=tmp_path)  # never overwrites an edited copy by accident
    assert again.returncode == 2 and len(stderr_lines(again)) == 1 and "--force" in again.stderr
    # the copy is what a command inside the folder reads: break it and the run says so
    (copy / "venues.yaml").write_text("venues: [unclosed\n")
    broken = run(["run", "--hours", "0.1"], cwd=tmp_path / "desk")
    assert broken.returncode == 2 and "config/venues.yaml" in broken.stderr
    assert len(stderr_lines(broken)) == 1 and run_dirs(tmp_path / "desk") == []


def test_a_replay_from_anywhere_on_the_packaged_config_then_show_and_resume(tmp_path):
    result = run(["run", "--hours", "0.1", "--seed", "14"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [run_dir] = run_dirs(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["ledger_consistent"] and summary["balances_consistent"]
    assert (summary["segment"], summary["hours"], summary["total_hours"]) == (1, 0.1, 0.1)
    assert (run_dir / "summary-1.json").read_text() == (run_dir / "summary.json").read_text()
    shown = run(["show", run_dir.name], cwd=tmp_path)
    assert shown.returncode == 0 and shown.stderr == ""
    # the statement's figures, as the run's own summary printed them
    for figure in ("end_nav_usd", "total_pnl_usd", "start_capital_usd"):
        assert summary[figure] in shown.stdout, figure
    runner = CliRunner()
    for what, heading in (("balances", "all venues"), ("positions", ""), ("trades", ""), ("orders", ""),
                          ("opportunities", ""), ("notifications", "startup")):
        out = runner.invoke(app, ["show", run_dir.name, what, "--runs-dir", str(tmp_path / "runs")])
        assert out.exit_code == 0 and heading in out.output, (what, out.output)
    missing = run(["show", "nope"], cwd=tmp_path)
    assert missing.returncode == 2 and stderr_lines(missing) == [
        "error: Invalid value for RUN_ID: no run 'nope' in runs (no runs/nope/state.sqlite)"]
    # --resume: each segment's summary kept, the total hours shown
    again = run(["run", "--hours", "0.2", "--resume", run_dir.name], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    one, two = (json.loads((run_dir / f"summary-{n}.json").read_text()) for n in (1, 2))
    latest = json.loads((run_dir / "summary.json").read_text())
    assert one == summary
    assert (two["hours"], two["segment"], two["segments"], two["total_hours"]) == (0.2, 2, 2, 0.3)  # 0.1 + 0.2
    assert latest == two and "segment 2: 0.2 h, 0.3 h in all" in again.stdout
    listed = runner.invoke(app, ["dlq", "list", run_dir.name, "--runs-dir", str(tmp_path / "runs")])
    assert listed.exit_code == 0 and f"no dead letters in run {run_dir.name}" in listed.output


def _show(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["show", "hand", *args, "--runs-dir", str(tmp_path / "runs")],
                                terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def test_show_tables_state_the_books_of_a_hand_made_run(tmp_path):
    run_dir = tmp_path / "runs" / "hand"
    run_dir.mkdir(parents=True)
    store = SqliteStore(run_dir / "state.sqlite")
    store.put("balances", "binance:BTC", {"venue": "binance", "asset": "BTC", "total": "0.5"})
    store.put("balances", "kraken:BTC", {"venue": "kraken", "asset": "BTC", "total": "0.25"})
    store.put("balances", "kraken:USDT", {"venue": "kraken", "asset": "USDT", "total": "1000"})
    store.put("positions", "kraken:BTC/USDT", {"venue": "kraken", "symbol": "BTC/USDT", "quantity": "0.25",
                                               "avg_cost": "60000", "realised_pnl": "12.5", "fees": "1.5",
                                               "mark_price": "61000"})
    store.put("positions", "binance:ETH/USDT", {"venue": "binance", "symbol": "ETH/USDT", "quantity": "0",
                                                "avg_cost": "0", "realised_pnl": "3", "fees": "0.2"})
    store.put("trades", "t1", {"venue": "kraken", "symbol": "BTC/USDT", "strategy": "momentum",
                               "pnl_usd": "-16.775", "closed_at": "2026-01-05T15:06:00+00:00"})
    store.put("trades", "t2", {"venue": "kraken", "symbol": "BTC/USDT", "strategy": "rsi",
                               "pnl_usd": "42.004", "closed_at": "2026-01-05T16:00:00+00:00"})
    store.close()
    [total] = [line for line in _show(tmp_path, "balances").splitlines() if "all venues" in line]
    assert "0.75" in total and "1000" in total  # BTC 0.5 + 0.25 = 0.75 over the venues; USDT 1000 on kraken only
    positions = _show(tmp_path, "positions")
    assert "BTC/USDT" in positions and "60000.00" in positions and "12.50" in positions
    assert "ETH/USDT" not in positions  # a flat position is not an open one
    trades = _show(tmp_path, "trades", "--limit", "1")
    assert "42.00" in trades and "-16.78" not in trades  # the latest one: 42.004 → 42.00
    assert "the latest 1 of 2 trades" in trades
    assert "no orders" in _show(tmp_path, "orders")


def test_config_resolution_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.config_dir(None) == paths.packaged()  # no ./config here
    (tmp_path / "config").mkdir()
    assert paths.config_dir(None) == paths.packaged()  # a ./config that is not a Tradewinds one
    (tmp_path / "config" / "venues.yaml").write_text("venues: []\n")
    assert paths.config_dir(None) == Path("config")
    assert paths.config_dir(tmp_path) == tmp_path
    with pytest.raises(ConfigError, match="no such folder"):
        paths.config_dir(tmp_path / "nope")


def test_the_packaged_config_is_the_repository_config():
    """The package ships config/ itself: the link resolves to it, and the wheel's package-data
    patterns take every file in it (a new file or folder there fails this until listed)."""
    config, packaged = REPO / "config", paths.packaged()
    assert packaged.resolve() == config.resolve()
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["infra"]
    infra = REPO / "infra"
    shipped = {p.resolve() for pattern in patterns if pattern.startswith("default_config/")
               for p in infra.glob(pattern)}
    assert shipped == {p.resolve() for p in config.rglob("*") if p.is_file()}
