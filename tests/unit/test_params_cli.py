"""`tradewinds params` from the command line: an unknown strategy or job is one line on stderr
and exit 2; approve applies the version that the signal step reads on its next bar."""

from pathlib import Path

import pytest

from infra.cli import failures
from infra.cli.params import app
from shared.adapters.local.sqlite_store import SqliteStore
from shared.handlers.signal import _current_params
from shared.strategies.config import load_strategies
from tests.unit.test_params import recommended_job

pytestmark = pytest.mark.timeout(30)
CONFIG = str(Path(__file__).resolve().parents[2] / "config")


def tradewinds(capsys, *args) -> tuple[int, str, str]:
    assert args[0] == "params"  # the `params` group, mounted by infra.cli.app
    code = failures.run(app, list(args[1:]))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state.sqlite"
    SqliteStore(path)  # an empty run's store
    return path


def test_list_of_an_unknown_strategy_is_an_error_not_an_empty_table(capsys, state):
    code, out, err = tradewinds(capsys, "params", "list", "nosuch", "--state", str(state), "--config", CONFIG)
    assert code == 2 and out == ""
    assert err.startswith("error: unknown strategy 'nosuch'; known: ") and "momentum" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_list_of_a_known_strategy_shows_its_versions(capsys, state):
    code, out, err = tradewinds(capsys, "params", "list", "momentum", "--state", str(state), "--config", CONFIG)
    assert code == 0 and err == "" and "momentum (current v0)" in out


def test_approve_applies_the_version_the_signal_step_reads_on_its_next_bar(capsys, state):
    store = SqliteStore(state)
    recommended_job(store, "job-1", values={"lookback": 24.0, "threshold": 0.004}, strategy="momentum")
    code, out, err = tradewinds(capsys, "params", "approve", "job-1", "--state", str(state), "--config", CONFIG)
    assert code == 0, err
    assert "momentum is now v1" in out and "from its next bar" in out
    spec = next(s for s in load_strategies(Path(CONFIG) / "strategies") if s.name == "momentum")
    with SqliteStore(state).transaction() as tx:  # what the signal step reads on the next bar
        params, version = _current_params(tx, spec)
    assert version == 1 and params["lookback"] == 24.0 and params["threshold"] == 0.004


def test_bad_jobs_and_states_are_one_line_and_exit_2(capsys, state, tmp_path):
    code, _out, err = tradewinds(capsys, "params", "approve", "job-404", "--state", str(state), "--config", CONFIG)
    assert code == 2 and err.count("\n") == 1 and "unknown optimizer job" in err
    code, _out, err = tradewinds(capsys, "params", "list", "momentum", "--state", str(tmp_path / "nope.sqlite"))
    assert code == 2 and err == f"error: --state {tmp_path / 'nope.sqlite'}: no such file\n"
