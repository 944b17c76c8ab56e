"""Whether the LSTM voted, for the summary, the run report and the screen (lstm_report), and
the run report page (infra/local/run_report) over a store stated by hand."""

import json
import socket

import pytest

from infra.local import run_report
from shared.adapters.local.sqlite_store import SqliteStore
from shared.signals.lstm_report import lstm_summary, probe

pytestmark = pytest.mark.timeout(30)


def windows(store, counts: dict[str, dict]) -> None:
    store.put("windows", "_index", {"keys": sorted(counts)})
    for key, lstm in counts.items():
        store.put("windows", key, {"bars": [], "last_side": None, "last_votes": {}, "perf": {}, "lstm": lstm})


def test_with_a_predictor_the_summary_counts_predictions_and_their_share_of_the_votes():
    store = SqliteStore()
    store.put("state", "predictor", {"status": "up", "since": "2026-01-05T00:00:00+00:00"})
    # two windows the LSTM scores: 60 + 20 = 80 predictions among 300 + 100 = 400 votes -> 20 %
    windows(store, {"binance-BTC-USDT": {"asked": 70, "predictions": 60, "votes": 300},
                    "okx-BTC-USDT": {"asked": 30, "predictions": 20, "votes": 100}})
    s = lstm_summary(store, configured=True)
    assert (s["status"], s["predictions"], s["asked"], s["votes"], s["vote_share"]) == ("on", 80, 100, 400, 0.2)
    assert s["line"] == "LSTM: on — 80 predictions, 20.0 % of the votes"


def test_a_dead_predictor_is_off_and_unreachable():
    store = SqliteStore()
    store.put("state", "predictor", {"status": "down", "since": "2026-01-05T01:02:00+00:00",
                                     "error": "predictor unreachable: POST http://127.0.0.1:9/v1/predict"})
    s = lstm_summary(store, configured=True)
    assert s["status"] == "off" and s["predictions"] is None
    assert s["line"] == "LSTM: off — predictor unreachable since 2026-01-05 01:02 UTC"
    assert lstm_summary(SqliteStore(), configured=False)["line"] == "LSTM: not used (no --predictor)"


def test_probe_warns_for_a_malformed_or_dead_predictor():
    assert probe("localhost:8081") == "LSTM: off — predictor URL malformed: 'localhost:8081' (want http://HOST:PORT)"
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert probe(f"http://127.0.0.1:{port}", timeout_s=1).startswith("LSTM: off — predictor unreachable (")


def test_the_run_report_has_the_equity_with_buy_and_hold_the_attribution_and_the_halt(tmp_path):
    store = SqliteStore()
    for minute, nav, hold in ((0, "1000", "1000"), (5, "1010", "995"), (10, "1020", "990")):
        store.put("equity", f"20260105T00{minute:02d}", {"at": f"2026-01-05T00:{minute:02d}:00+00:00", "nav": nav,
                                                          "total_pnl": "0", "hold": hold})
    store.put("audit", "halt-1", {"kind": "halt", "at": "2026-01-05T00:10:00+00:00", "actor": "panic_brake",
                                  "reason": "daily loss 3.1 % over 3 %"})
    store.put("state", "predictor", {"status": "down", "since": "2026-01-05T00:03:00+00:00"})
    (tmp_path / "summary.json").write_text(json.dumps({"run_id": "r-1", "hours": 0.5, "seed": 7,
                                                       "venues": ["binance"], "quote": "USDT"}))
    page = run_report.write(store, tmp_path).read_text()
    assert "<title>Run r-1</title>" in page
    assert "2026-01-05 00:00 → 2026-01-05 00:10 UTC · 0.5 h · seed 7 · binance" in page
    assert "Trading halted at 2026-01-05T00:10:00+00:00 by panic_brake: daily loss 3.1 % over 3 %" in page
    assert "LSTM: off — predictor unreachable since 2026-01-05 00:03 UTC" in page
    assert "Where the PnL came from (USDT)" in page and "<th>total</th>" in page
    assert page.count("data:image/png;base64,") == 1 and "<script" not in page
