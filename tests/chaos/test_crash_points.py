"""Kill the executor (SIGKILL, by its own pid, at a named crash point), restart it, and check
that nothing was lost or doubled: every order the paper venues executed was sent once, and
venue-side fills = stored order records = ledger executions (same client order ids, same
quantities), the positions equal the venue-side net per venue and symbol, and no claim,
order or arbitrage plan is left unresolved.

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
from decimal import Decimal
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
          f"unresolved claims {counts['unresolved_claims']}, active orders {len(counts['active_orders'])}, "
          f"unsettled plans {counts['unsettled_plans']}, hedges {len(counts['venue_hedges'])}")
    assert counts["max_sends"] == 1  # no order reached a venue twice
    assert counts["venue_filled"] == counts["stored_filled"] == counts["ledger_filled"]
    assert counts["positions"] == counts["venue_net"]
    assert counts["unresolved_claims"] == 0 and counts["active_orders"] == []
    assert counts["unsettled_plans"] == 0  # every arbitrage's outcome final: flat or hedged
    if fills is not None:
        assert len(counts["venue_fills"]) == fills


@pytest.mark.parametrize(("scenario", "crash", "fills"), CASES, ids=[f"{s}-{c}" for s, c, _ in CASES])
def test_a_kill_at_each_crash_point_loses_and_doubles_nothing(tmp_path, scenario, crash, fills):
    counts = crash_and_recover(tmp_path, scenario, crash)
    check(counts, f"sqlite {scenario} {crash}", fills)


def btc_net(counts: dict) -> Decimal:
    return sum((Decimal(v) for k, v in counts["venue_net"].items() if k.endswith(":BTC/USDT")), Decimal(0))


def test_an_arbitrage_killed_after_its_first_leg_is_hedged_on_that_venue(tmp_path):
    """binance takes 2 s to execute (its claim is written first), so the okx buy of 0.03 BTC
    answers first and the kill comes with the binance sell claimed but never executed. After
    the restart reconciliation finds the binance leg not at the venue (no fill), the plan gives
    the residual +0.03 BTC on okx, and the hedge sells 0.03 on okx (where the excess was filled):
    okx 0.03 - 0.03 = 0. Fills: the okx leg and the okx hedge = 2 (was 1 and +0.03 unhedged)."""
    counts = crash_and_recover(tmp_path, "arb", "after_send", "--slow-venue", "binance")
    check_hedged_flat(counts, "sqlite arb after_send, binance slow (okx leg only, then its hedge)")
    assert len(counts["venue_fills"]) == 2 and counts["venue_net"] == {} and counts["positions"] == {}
    assert counts["venue_orders"] == 2  # okx leg and okx hedge; the binance leg never reached its venue


def test_an_arbitrage_killed_between_its_legs_is_hedged_flat_after_the_restart(tmp_path):
    """The planted arbitrage buys 0.03 BTC on okx (asks 65,000 x 5: fills in full) and sells
    0.03 on binance (the book thinned to 65,500 x 0.01 before the send: fills 0.01). The first
    leg to answer kills the process; its `arbitrage/` doc was only written behind (lost), but
    its plan (`arb_plans/`) was durable before the first send. After the restart the legs are
    known from reconciliation (a leg never claimed was never sent) and the net BTC residual is
    hedged on the venue where the excess was filled (the legs' rule, `LegExecutor._hedge`):
    - okx first, binance never sent: +0.03 on okx, the hedge sells 0.03 on okx: 2 fills,
      okx 0.03 - 0.03 = 0 (flat per venue);
    - okx first, binance out too: +0.03 - 0.01 = +0.02 on okx, hedge sells 0.02 on okx:
      3 fills, okx +0.01, binance -0.01 (flat in BTC over both venues: +0.01 - 0.01 = 0);
    - binance first, okx never sent: -0.01 on binance, hedge buys 0.01 on binance: 2 fills, flat.
    In every case one hedge, BTC net 0, no order sent twice, no plan left."""
    counts = crash_and_recover(tmp_path, "arb", "after_send")
    check_hedged_flat(counts, "sqlite arb after_send (killed between the legs)")


def check_hedged_flat(counts: dict, label: str) -> None:
    check(counts, label, None)
    assert len(counts["venue_hedges"]) == 1 and len(counts["venue_fills"]) in (2, 3)
    assert btc_net(counts) == 0  # the position is flat after the restart
    if len(counts["venue_fills"]) == 2:  # one leg and its hedge, on the same venue
        assert counts["venue_net"] == {} and counts["positions"] == {}


def test_an_arbitrage_hedge_killed_during_recovery_is_not_sent_again(tmp_path):
    """Killed between the legs, then the restarted process killed right after its hedge was
    answered (nothing of it recorded, the plan not settled): the next restart finds the hedge's
    claim, books the venue's answer and settles the plan without a second hedge. binance is
    slow, as above: the okx buy of 0.03 and the okx hedge selling 0.03 are the only fills."""
    slow = ("--slow-venue", "binance")
    died = drive(tmp_path, "arb", "run", "after_send", *slow)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    died = drive(tmp_path, "arb", "recover", "during_hedge", *slow)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    back = drive(tmp_path, "arb", "recover", None, *slow)
    assert back.returncode == 0, back.stderr[-3000:]
    counts = json.loads(back.stdout.strip().splitlines()[-1])
    check(counts, "sqlite arb after_send, then during_hedge in the recovery", 2)
    assert len(counts["venue_hedges"]) == 1 and counts["venue_net"] == {} == counts["positions"]


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


@pytest.mark.emulators
def test_on_firestore_an_arbitrage_killed_between_its_legs_is_hedged_flat(tmp_path, emulator_hosts, gcp_project):
    """As `test_an_arbitrage_killed_between_its_legs_is_hedged_flat_after_the_restart`, with
    the plan, claims, orders and the paper venues' records in the Firestore emulator."""
    counts = crash_and_recover(tmp_path, "arb", "after_send", "--firestore", gcp_project, env_extra=emulator_hosts)
    check_hedged_flat(counts, "firestore arb after_send (killed between the legs)")
