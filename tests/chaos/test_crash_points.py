"""Kill the executor (SIGKILL, by its own pid, at a named crash point), restart it, and check
that nothing was lost or doubled: every order the paper venues executed was sent once, and
venue-side fills = stored order records = ledger executions (same client order ids, same
quantities), the positions equal the venue-side net per venue and symbol, and no claim or
order is left unresolved.

Each case runs `python -m tests.chaos.driver` twice in a child process: `run` with
`TW_CRASH_AT` set (it must die by SIGKILL), then `recover` (start-up reconciliation, pending
outbox, the client's retry or the transport's redelivery). The counts are printed
(`pytest -s`) as one CHAOS line per case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)

# (scenario, crash point, what must hold after recovery: venue fills, sends per order)
CASES = [
    # the 2nd manual order claimed, never sent: reconciliation closes it failed, the retry sends nothing
    ("api", "before_send:2", 4),
    # the 2nd manual order filled at the venue, the transaction rolled back (the reported double send)
    ("api", "after_send:2", 5),
    # the 2nd manual order committed, its execution not published: the outbox publishes it
    ("api", "after_commit:2", 5),
    # the consumer dies at its 3rd delivery: 2 done, 3 unacknowledged and redelivered
    ("consume", "mid_batch:3", 5),
    # the 3rd strategy order filled at the venue, its step rolled back
    ("consume", "after_send:3", 5),
    # an arbitrage: both legs answered (one short), its hedge filled, nothing recorded or published
    ("arb", "during_hedge", 3),
    # an arbitrage: the first leg to answer kills the process (the other leg may or may not be out)
    ("arb", "after_send", None),
]


def drive(workdir: Path, scenario: str, phase: str, crash: str | None = None, *extra: str,
          env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TW_CRASH_AT"}
    env.update(env_extra or {})
    if crash:
        env["TW_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-m", "tests.chaos.driver", "--dir", str(workdir), "--scenario",
                           scenario, "--phase", phase, *extra], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=45, check=False)


def crash_and_recover(workdir: Path, scenario: str, crash: str, *extra: str, env_extra=None) -> dict:
    died = drive(workdir, scenario, "run", crash, *extra, env_extra=env_extra)
    assert died.returncode == -signal.SIGKILL, (died.returncode, died.stderr[-2000:])
    back = drive(workdir, scenario, "recover", None, *extra, env_extra=env_extra)
    assert back.returncode == 0, back.stderr[-3000:]
    return json.loads(back.stdout.strip().splitlines()[-1])


def check(counts: dict, label: str, fills: int | None) -> None:
    print(f"\nCHAOS {label}: venue fills {len(counts['venue_fills'])} = stored executions "
          f"{len(counts['stored_fills'])} = ledger {len(counts['ledger_fills'])}; max sends per order "
          f"{counts['max_sends']}; positions {counts['positions']} (venue {counts['venue_net']}); "
          f"unresolved claims {counts['unresolved_claims']}, active orders {len(counts['active_orders'])}")
    assert counts["max_sends"] == 1  # no order reached a venue twice
    assert counts["venue_filled"] == counts["stored_filled"] == counts["ledger_filled"]
    assert counts["positions"] == counts["venue_net"]
    assert counts["unresolved_claims"] == 0 and counts["active_orders"] == []
    if fills is not None:
        assert len(counts["venue_fills"]) == fills


@pytest.mark.parametrize(("scenario", "crash", "fills"), CASES, ids=[f"{s}-{c}" for s, c, _ in CASES])
def test_a_kill_at_each_crash_point_loses_and_doubles_nothing(tmp_path, scenario, crash, fills):
    counts = crash_and_recover(tmp_path, scenario, crash)
    check(counts, f"sqlite {scenario} {crash}", fills)


def test_a_redelivery_before_reconciliation_books_the_venues_answer_without_resending(tmp_path):
    """The transport redelivers the order before the restarted executor reconciled: the claim
    stops the second send and the venue's answer (by client order id) is booked instead."""
    counts = crash_and_recover(tmp_path, "consume", "after_send:2", "--redeliver-first")
    check(counts, "sqlite consume after_send:2, redelivered before reconciliation", 5)


# -- the emulator wiring: Firestore (orders, claims, outbox and the paper venues' records) --------
FIRESTORE_CASES = [("api", "after_send:2", 5), ("consume", "after_send:3", 5), ("arb", "during_hedge", 3)]


@pytest.mark.emulators
@pytest.mark.parametrize(("scenario", "crash", "fills"), FIRESTORE_CASES,
                         ids=[f"{s}-{c}" for s, c, _ in FIRESTORE_CASES])
def test_on_firestore_a_kill_loses_and_doubles_nothing(tmp_path, emulator_hosts, gcp_project, scenario, crash,
                                                       fills):
    counts = crash_and_recover(tmp_path, scenario, crash, "--firestore", gcp_project, env_extra=emulator_hosts)
    check(counts, f"firestore {scenario} {crash}", fills)
