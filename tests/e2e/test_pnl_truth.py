"""The truth test: over several replays (seeds, a crash, a resumed run, a venue subset, runs
across midnight) the total PnL the summary prints is what the balances say, and every other
place that prints PnL agrees with it.

The expectation is computed here, from the raw documents, without the project's PnL code:
    expected = Σ over assets of (Σ balances/* now − start balance × venues) × mark now
with the start balances read from config/risk.yaml and the marks from `marks/` (BTC/USDT and
ETH/USDT are the USD legs; ETH/BTC is not used to value anything).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from infra.local import summary as run_summary
from infra.local.pipeline import LocalPipeline, RunConfig

pytestmark = pytest.mark.timeout(600)
CONFIG = Path(__file__).resolve().parents[2] / "config"
CENT = Decimal("0.01")
EVENING = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)

RUNS = {  # id: (RunConfig options, resumed hours or None)
    "seed7-midnight": ({"seed": 7, "hours": 2, "start": EVENING}, None),
    "seed14": ({"seed": 14, "hours": 2}, None),
    "seed3-crash": ({"seed": 3, "hours": 2, "crash": ("BTC", 0.5, 0.25)}, None),
    "seed11-resumed": ({"seed": 11, "hours": 1}, 1),
    "seed21-three-venues": ({"seed": 21, "hours": 2, "venues": ["binance", "kraken", "okx"]}, None),
    "seed9-midnight-crash": ({"seed": 9, "hours": 2, "start": EVENING, "crash": ("ETH", 1.2, 0.2)}, None),
}


def money(text: str) -> Decimal:
    """'+1,234.56 USDT' → Decimal('1234.56')."""
    return Decimal(text.split()[0].replace(",", "").replace("+", ""))


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory):
    options, resumed_hours = RUNS[request.param]
    base = tmp_path_factory.mktemp(request.param)
    pipeline = LocalPipeline(RunConfig(runs_dir=base, run_id="r", **options))
    pipeline.run()
    if resumed_hours:
        pipeline.store.close()
        pipeline = LocalPipeline(RunConfig(runs_dir=base, run_id="r", hours=resumed_hours, resume=True))
        pipeline.run()
    return request.param, pipeline, run_summary.build(pipeline)


def expected_total(pipeline) -> Decimal:
    start_per_venue = yaml.safe_load((CONFIG / "risk.yaml").read_text())["portfolio"]["start_balances"]
    venues = len(pipeline.market.enabled_venues)
    held = defaultdict(Decimal)
    for _, doc in pipeline.store.query("balances"):
        held[doc["asset"]] += Decimal(doc["total"])
    marks = {i.replace("-", "/"): Decimal(d["price"]) for i, d in pipeline.store.query("marks")}
    price = {"USDT": Decimal(1), "BTC": marks["BTC/USDT"], "ETH": marks["ETH/USDT"]}
    assets = set(held) | set(start_per_venue)
    return sum(((held[a] - Decimal(start_per_venue.get(a, "0")) * venues) * price[a] for a in assets),
               Decimal(0))


def test_the_summary_total_is_the_change_of_the_balances_at_end_marks(run):
    name, pipeline, s = run
    expected = expected_total(pipeline)
    print(f"\n{name}: total PnL {s['total_pnl_usd']} = balances {expected.quantize(CENT)}; "
          f"buy and hold {s['buy_and_hold_return_pct']}%; attribution {s['attribution_usd']}")
    assert Decimal(s["total_pnl_usd"]) == expected.quantize(CENT)
    assert s["balances_consistent"] and s["ledger_consistent"] and s["dlq_count"] == 0


def test_the_days_sum_to_the_total_and_the_attribution_too(run):
    _, pipeline, s = run
    total = Decimal(s["total_pnl_exact"])
    days = [Decimal(d["pnl_usd"]) for _, d in pipeline.store.query("pnl_days")]
    assert sum(days, Decimal(0)).quantize(CENT) == total.quantize(CENT)
    assert sum((Decimal(v) for v in s["attribution_exact"].values()), Decimal(0)) == total


def test_the_reports_print_the_same_pnl(run):
    name, pipeline, s = run
    total = Decimal(s["total_pnl_usd"])
    sent = [json.loads(line) for line in (pipeline.cfg.run_dir / "notifications.jsonl").read_text().splitlines()]
    hourly = [dict(n["fields"]) for n in sent if n["kind"] == "hourly_summary"]
    assert hourly, name
    # the runs last whole hours: the last report is at the last minute and sees the final books
    assert money(hourly[-1]["PnL since start"]) == total
    # each hour is the change since the previous report: the hours add up (each rounded to a cent)
    assert abs(sum(money(h["PnL"]) for h in hourly) - total) <= CENT * len(hourly) / 2
    assert Decimal(pipeline.store.get("reports", "hourly")["total_pnl_usd"]).quantize(CENT) == total
    pnl_days = {d["date"]: Decimal(d["pnl_usd"]) for _, d in pipeline.store.query("pnl_days")}
    for report in (n for n in sent if n["kind"] == "daily_report"):
        day = report["title"].split()[-1]
        assert money(dict(report["fields"])["PnL"]) == pnl_days[day].quantize(CENT), day


def test_the_api_and_telegram_read_the_same_figure(run):
    from shared.notify import pnl_view

    _, pipeline, s = run
    view = pnl_view.current(pipeline.store, pipeline.clock.now(), "USDT")
    assert view.total.quantize(CENT) == Decimal(s["total_pnl_usd"])
    assert view.nav.quantize(CENT) == Decimal(s["end_nav_usd"])
