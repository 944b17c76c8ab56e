"""Every bad input is one clear line on stderr and a non-zero exit, never a traceback, and a
failed run leaves no half-made runs/<id>/. Each case runs the installed script (or the executor
service's `python -m`) in a temporary folder outside the repository."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from infra.cli import paths
from tests.e2e.cli_subprocess import run, run_dirs, stderr_lines

BROKEN_YAML = "- name: momentum\n  params: [unclosed\n"


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """tmp_path with an editable copy of the configuration (good/) and one whose
    strategies/momentum.yaml is broken YAML (broken/)."""
    shutil.copytree(paths.packaged(), tmp_path / "good")
    shutil.copytree(paths.packaged(), tmp_path / "broken")
    (tmp_path / "broken" / "strategies" / "momentum.yaml").write_text(BROKEN_YAML)
    return tmp_path


def _one_clear_line(result, *words: str) -> str:
    lines = stderr_lines(result)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(lines) == 1, result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


RESEARCH = ["--days", "1", "--config", "good"]
CASES = {
    "log level": (["--log-level", "verbose", "run", "--hours", "0.1"], ("--log-level", "verbose", "DEBUG")),
    "param not a number": (["backtest", "momentum", *RESEARCH, "--param", "lookback=abc"], ("abc",)),
    "unknown param": (["backtest", "momentum", *RESEARCH, "--param", "nosuch=3"], ("nosuch",)),
    "end not a date": (["backtest", "momentum", *RESEARCH, "--end", "yesterday"], ("yesterday",)),
    "backtest broken yaml": (["backtest", "momentum", "--days", "1", "--config", "broken"],
                             ("momentum.yaml", "YAML")),
    "optimize broken yaml": (["optimize", "momentum", "--days", "1", "--config", "broken"],
                             ("momentum.yaml", "YAML")),
    "run broken yaml": (["run", "--hours", "0.1", "--config", "broken"], ("momentum.yaml",)),
    "run unknown venue": (["run", "--hours", "0.1", "--config", "good", "--venues", "nowhere"], ("nowhere",)),
    "run missing config": (["run", "--hours", "0.1", "--config", "nope"], ("--config nope",)),
    "resume no such run": (["run", "--hours", "0.1", "--resume", "no-such-run"], ("no-such-run",)),
    "unknown command": (["nosuch"], ("nosuch",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_input_is_one_line_and_leaves_no_run(desk, case):
    args, words = CASES[case]
    result = run(args, cwd=desk)
    line = _one_clear_line(result, *words)
    assert line.startswith("error: ") and result.returncode == 2
    assert run_dirs(desk) == [] and not (desk / "runs" / "no-such-run").exists()


EXECUTOR = [sys.executable, "-m", "runtime.executor"]
EXECUTOR_CASES = {
    "bad setting": ({"EXECUTOR_RECONCILE_INTERVAL_S": "abc"}, ("EXECUTOR_RECONCILE_INTERVAL_S",)),
    "live without the flag": ({"TW_MODE": "live"}, ("TW_MODE", "--i-understand-live")),
}


@pytest.mark.parametrize("case", list(EXECUTOR_CASES))
def test_bad_executor_settings_are_one_line(tmp_path, case):
    env, words = EXECUTOR_CASES[case]
    repo = str(Path(__file__).resolve().parents[2])
    result = run([], cwd=tmp_path, env={**env, "PORT": "18931", "PYTHONPATH": repo}, timeout=30,
                 program=EXECUTOR)
    _one_clear_line(result, *words)
