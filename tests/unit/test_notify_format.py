"""Message building and rendering for every kind."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.contracts import Execution, ExecutionStatus, OptimizerResult, Severity, Side
from shared.notify import format as fmt
from shared.notify.render import inline_keyboard, render_markdown, render_plain, render_slack
from shared.notify.summary import PeriodSummary, TradeRef
from tests.integration.fake_telegram import markdown_v2_error

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("amount", "ccy", "signed", "text"), [
    ("12.345", "USDT", True, "+12.35 USDT"),
    ("-5", "USDT", True, "-5.00 USDT"),
    ("-0.001", "USDT", True, "0.00 USDT"),
    ("1234567.891", "USDC", False, "1,234,567.89 USDC"),
    ("0.0015", "BTC", True, "+0.00150000 BTC"),
])
def test_money_is_signed_in_its_quote_currency(amount, ccy, signed, text):
    assert fmt.money(Decimal(amount), ccy, signed=signed) == text


def execution(status=ExecutionStatus.FILLED, filled="0.01", **kw):
    base = {"execution_id": "ex-1", "client_order_id": "tw123456789", "venue": "binance",
            "symbol": "BTC/USDT", "side": Side.BUY, "status": status,
            "requested_quantity": Decimal("0.02"), "filled_quantity": Decimal(filled),
            "price": Decimal("61234.5"), "expected_price": Decimal(61200),
            "fee": Decimal("0.61"), "fee_currency": "USDT", "latency_ms": 42.0,
            "strategy": "momentum", "executed_at": T0}
    return Execution(**{**base, **kw})


def test_trade_alert_shows_venue_symbol_side_size_price_fees_pnl():
    n = fmt.trade_alert(execution(status=ExecutionStatus.PARTIALLY_FILLED), Decimal(-5))
    fields = dict(n.fields)
    assert (fields["Venue"], fields["Symbol"], fields["Side"]) == ("binance", "BTC/USDT", "BUY")
    assert fields["Size"] == "0.01 of 0.02" and fields["Price"] == "61234.5 USDT"
    assert fields["Fees"] == "-0.61 USDT" and fields["PnL"] == "-5.00 USDT"
    assert fields["Time"] == "2024-05-01 12:00 UTC" and n.dedupe_key == "trade:ex-1"
    assert fmt.trade_alert(execution()).fields[7] == ("PnL", "open")


def test_rejected_order_is_a_warning_with_its_reason():
    n = fmt.trade_alert(execution(status=ExecutionStatus.REJECTED, filled="0", price=Decimal(0),
                                  fee=Decimal(0), reason="insufficient funds"))
    assert n.severity is Severity.WARNING and n.text == "insufficient funds"
    assert n.title == "Order rejected: BUY BTC/USDT"


def test_risk_halt_carries_cause_and_figures_and_resume_says_who():
    halt = fmt.risk_halt("daily_loss", {"daily_loss_pct": Decimal("3.21"), "limit_pct": "3"}, T0)
    assert halt.severity is Severity.CRITICAL and "daily_loss" in halt.text
    assert ("daily_loss_pct", "3.21") in halt.fields
    resume = fmt.risk_resume("telegram:42", T0, reason="checked")
    assert dict(resume.fields)["Resumed by"] == "telegram:42"


def test_optimizer_recommendation_has_approve_and_reject_buttons():
    result = OptimizerResult(job_id="job-abc", strategy="momentum", status="recommended",
                             current_params={"fast": 10, "slow": 30},
                             recommended_params={"fast": 8, "slow": 30},
                             current_report={"sharpe": 0.8}, recommended_report={"sharpe": 1.31},
                             finished_at=T0)
    n = fmt.optimizer_recommendation(result)
    assert [b.callback_data for b in n.buttons] == ["approve:job-abc", "reject:job-abc"]
    assert ("param fast", "10 → 8") in n.fields and ("sharpe", "0.8 → 1.31") in n.fields
    assert inline_keyboard(n)["inline_keyboard"][0][0]["callback_data"] == "approve:job-abc"
    failed = fmt.optimizer_recommendation(result.model_copy(update={"status": "failed"}))
    assert failed.buttons == () and failed.severity is Severity.WARNING


def summary_fixture() -> PeriodSummary:
    best = TradeRef("ETH/USDT", "kraken", "arb", Decimal(20), "USDT", "tw1")
    worst = TradeRef("BTC/USDT", "binance", "momentum", Decimal("-7.66"), "USDT", "tw2")
    return PeriodSummary(
        start=T0, end=T0.replace(hour=13), quote_currency="USDT", trades=5, closed=2, wins=1,
        losses=1, pnl={"USDT": Decimal("12.34")}, volume={"USDT": Decimal(15420)},
        fees={"USDT": Decimal("3.1")}, exposure={"USDT": Decimal(610)}, best=best,
        worst=worst, by_strategy={"arb": Decimal(20)}, commentary=("Profitable.",))


def test_hourly_summary_and_daily_report_fields():
    hourly = fmt.hourly_summary(summary_fixture())
    fields = dict(hourly.fields)
    assert fields["PnL"] == "+12.34 USDT" and fields["Volume"] == "15,420.00 USDT"
    assert fields["Win rate"] == "50.0% (1W/1L)" and fields["Trades"] == "5 (2 closed)"
    assert fields["Best trade"] == "ETH/USDT kraken +20.00 USDT"
    assert fields["Worst trade"] == "BTC/USDT binance -7.66 USDT"
    assert fields["Open exposure (USDT)"] == "610.00 USDT" and hourly.text == "Profitable."
    assert hourly.title == "Hourly summary 12:00–13:00 UTC"
    daily = fmt.daily_report(summary_fixture())
    assert ("Strategy arb", "+20.00 USDT") in daily.fields


def every_kind():
    return [
        fmt.startup("paper", T0, "1.0.0", ("binance", "kraken"), ("momentum",)),
        fmt.trade_alert(execution(), Decimal("1.5")),
        fmt.risk_halt("latency", {"avg_latency_ms": "612.5"}, T0),
        fmt.risk_resume("telegram:42", T0),
        fmt.hourly_summary(summary_fixture()),
        fmt.daily_report(summary_fixture()),
        fmt.optimizer_recommendation(OptimizerResult(
            job_id="j-1", strategy="mean_rev", status="recommended", finished_at=T0)),
        fmt.outage("feed", "binance", "websocket closed (code 1006)", T0, since=T0),
    ]


@pytest.mark.parametrize("n", every_kind(), ids=lambda n: n.kind)
def test_every_kind_renders_valid_markdown_slack_and_plain(n):
    text = render_markdown(n)
    assert markdown_v2_error(text) is None and len(text) < 4096
    assert render_slack(n)["blocks"][0]["type"] == "header"
    plain = render_plain(n)
    assert plain.startswith(f"[{n.severity.value.upper()}]") and n.title in plain
