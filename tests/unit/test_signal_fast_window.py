"""The signal step's in-process window arrays (shared/handlers/signal.py `_window_arrays`):
the kept arrays are used only when the stored rows are the ones they were built from, so two
stores (two runs, instances or a retried transaction) in one process never see each other's
bars, and the step decides exactly as when every bar rebuilt its arrays from the rows (the
window stored in chunks: shared/signals/window_bars.py)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.handlers import signal
from shared.market.simulator import MarketSimulator
from shared.signals import window_bars
from shared.signals.standing import StandingConfig

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _rows(n: int, start: float, t0: int = 0) -> list[list]:
    return [[f"2026-01-05T{(t0 + i) // 60:02d}:{(t0 + i) % 60:02d}:00+00:00", start + i, start + i + 0.5,
             start + i - 0.5, start + i + 0.25, 1.0 + i] for i in range(n)]


def _columns(arrays) -> list[list[float]]:
    return [getattr(arrays, f).tolist() for f in ("open", "high", "low", "close", "volume")]


def _arrays(store: SqliteStore, key: str, doc: dict, row: list):
    """One bar's arrays as the step builds them: the row appended to the stored window."""
    with store.transaction() as tx:
        before = window_bars.stamp(doc)
        window_bars.append(tx, key, doc, row)
        got = signal._window_arrays(key, tx, before, doc, row)
        tx.put("windows", key, doc)
    return got


def test_kept_arrays_are_used_only_for_the_rows_they_were_built_from():
    signal._ARRAYS.clear()
    a, b, key = SqliteStore(":memory:"), SqliteStore(":memory:"), "v-A-B"
    first = _rows(240, 100.0)
    _arrays(a, key, {"bars": first[:-1]}, first[-1])  # a window stored whole (before chunks): built, kept
    stored = a.get("windows", key)
    assert len(stored["chunks"]) == 11 and len(stored["bars"]) == 20  # 240 rows: 11 chunks of 20 + 20
    nxt = (first + _rows(1, 340.0, t0=240))[-240:]
    got = _arrays(a, key, a.get("windows", key), nxt[-1])  # the stored rows are the kept ones: shifted
    assert _columns(got) == [[r[i] for r in nxt] for i in range(1, 6)]
    assert got.close[0] == 101.25 and got.close[-1] == 340.25  # 100 + 1 + 0.25 (the oldest dropped); 340 + 0.25
    other = _rows(240, 5_000.0)  # another store's window under the same key: not the kept rows
    got = _arrays(b, key, {"bars": other[:-1]}, other[-1])
    assert got.close[0] == 5_000.25 and got.close[-1] == 5_239.25  # 5000 + 239 + 0.25: its own bars
    retried = _arrays(a, key, stored, nxt[-1])  # a's rows before the bar again (a retried transaction)
    assert retried.close[-1] == 340.25 and retried.close[0] == 101.25
    assert _columns(retried) == [[r[i] for r in nxt] for i in range(1, 6)]


@pytest.fixture(scope="module")
def bars():
    sim = MarketSimulator(load_market_config(), seed=3, start=T0)
    return [b for b in sim.advance(T0 + timedelta(hours=1, minutes=30)) if b.venue in ("binance", "kraken")]


def _deps(clock):
    deps = signal.build_deps(store=None, clock=clock, predictor=None)
    deps.standing = StandingConfig(enabled=False)  # every voter trades: signals happen
    # fast instances (the shipped trend followers signal a few times a day, not in 90 minutes)
    fast = {"momentum": {"lookback": 10, "threshold": 0.0035}, "momentum_ethbtc": {"lookback": 10, "threshold": 0.0025},
            "breakout": {"lookback": 30}, "breakout_ethbtc": {"lookback": 15}}  # as they once shipped
    deps.strategies = [s.with_values(fast.get(s.name, {})) for s in deps.strategies]
    return deps


def _step(bar, store, clock, deps):
    clock.set(max(clock.now(), bar.open_time + timedelta(minutes=1)))
    with store.transaction() as tx:
        return signal.on_bar(bar, tx, deps)


def test_two_runs_interleaved_in_one_process_decide_as_each_alone(bars):
    """Run A and a run B whose prices are A's x 1.5 alternate bar by bar (same window keys):
    each must end with the windows and signals it has when run with a fresh cache every bar."""
    scaled = [b.model_copy(update={k: getattr(b, k) * 3 / 2 for k in ("open", "high", "low", "close")})
              for b in bars]
    runs = {}
    for mode in ("interleaved", "alone"):
        stores = {"a": SqliteStore(":memory:"), "b": SqliteStore(":memory:")}
        clocks = {k: SimulatedClock(T0) for k in stores}
        deps = {k: _deps(clocks[k]) for k in stores}
        out = {"a": [], "b": []}
        signal._ARRAYS.clear()
        for bar_a, bar_b in zip(bars, scaled, strict=True):
            for name, bar in (("a", bar_a), ("b", bar_b)):
                if mode == "alone":
                    signal._ARRAYS.clear()  # every bar builds its arrays from the stored rows
                out[name] += _step(bar, stores[name], clocks[name], deps[name])
        runs[mode] = ({k: [m.model_dump_json() for m in v] for k, v in out.items()},
                      {k: [(i, d, window_bars.rows(s, d, last=None) if "bars" in d else None)
                           for i, d in sorted(s.query("windows"))] for k, s in stores.items()})
        for s in stores.values():
            s.close()
    assert runs["interleaved"] == runs["alone"]
    signals, windows = runs["interleaved"]
    assert signals["a"] and signals["b"]  # the comparison covered decisions
    btc_a = {i: rows for i, _, rows in windows["a"]}["binance-BTC-USDT"]
    btc_b = {i: rows for i, _, rows in windows["b"]}["binance-BTC-USDT"]
    assert len(btc_a) == 90 and np.allclose([r[4] for r in btc_b], [r[4] * 1.5 for r in btc_a])  # each kept its own prices
