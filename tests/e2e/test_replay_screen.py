"""The replay's touch screens change no outcome: a replay that looks at every book update
and builds every book of a scan worth it (as before the screens) and one that screens the
updates a minute at a time in floats and builds only the books with an edge write the same
executions, arbitrage records, near misses and balances, document for document.

The market has incidents on the way (an outage and a stale window, where the screen hands
the minute back to the step-by-step path) and a planted crash (dislocations, so there are
arbitrage scans to make).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.local import pipeline as pipeline_module
from infra.local.pipeline import LocalPipeline, RunConfig

pytestmark = pytest.mark.timeout(240)
COLLECTIONS = ("executions", "arbitrage", "near_misses", "balances", "orders", "ledger", "positions", "equity",
               "transfers", "slippage", "pnl_days")


class Unscreened(LocalPipeline):
    def _screen(self, times):
        return [True] * len(times)  # every update looked at


def every_book_when_worth(scanner, tops, now, margin):
    return set(tops) if scanner.worth_scanning(tops, now, margin=margin) else set()


def replay(tmp_path, cls, name: str) -> tuple[dict, int]:
    p = cls(RunConfig(hours=2, seed=3, runs_dir=tmp_path, run_id=name, crash=("BTC", 0.5, 0.03)))
    start = p.cfg.start
    p.sim.schedule_outage("kraken", start + timedelta(minutes=20), start + timedelta(minutes=31))
    p.sim.schedule_stale("coinbase", start + timedelta(minutes=40), start + timedelta(minutes=44))
    looked = []
    screen = p._screen
    p._screen = lambda times: looked.append(sum(flags := screen(times))) or flags
    p.run()
    docs = {c: p.store.query(c) for c in COLLECTIONS}
    p.store.close()
    return docs, sum(looked)


def test_screened_and_unscreened_replays_write_the_same_books(tmp_path, monkeypatch):
    screened, looked = replay(tmp_path, LocalPipeline, "screened")
    monkeypatch.setattr(pipeline_module, "books_worth_building", every_book_when_worth)
    plain, every = replay(tmp_path, Unscreened, "plain")
    assert every == 120 * 11  # 11 updates inside each minute, every one looked at
    assert looked < every / 2  # the screen left most of them out
    assert len(screened["executions"]) > 10 and len(screened["near_misses"]) > 100
    for collection in COLLECTIONS:
        assert screened[collection] == plain[collection], collection
