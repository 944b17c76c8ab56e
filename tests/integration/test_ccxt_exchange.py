"""CcxtExchange (ccxt's real binance class) against the fake Binance spot server."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import ccxt
import pytest

from shared.adapters.ccxt import CcxtExchange, OrderNotFound, RetryPolicy, to_book_snapshot
from shared.adapters.ccxt.errors import map_error
from shared.errors import (
    AuthenticationFailed,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderRejected,
    PermanentError,
    TransientError,
)
from tests.integration.fake_binance import API_KEY, API_SECRET, MINUTE_MS, FakeBinance

pytestmark = pytest.mark.timeout(30)
NOW_MS = 1_700_000_000_000 // MINUTE_MS * MINUTE_MS + 25_000  # 25 s into a minute
MINUTE_START = NOW_MS // MINUTE_MS * MINUTE_MS


@pytest.fixture
def fake():
    with FakeBinance(NOW_MS) as server:
        yield server


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def ex(fake, sleeps):
    return CcxtExchange(
        "binance", api_key=API_KEY, secret=API_SECRET, urls_override=fake.url,
        timeout_ms=2000, rate_limit_ms=0, sleep=sleeps, rand=lambda: 0.5,
        retry=RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=8.0),
    )


def test_markets_come_from_the_fake_with_venue_precision_and_limits(ex, fake):
    markets = ex.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert btc["id"] == "BTCUSDT" and btc["spot"]
    assert btc["precision"]["price"] == 0.01 and btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5.0
    assert len(fake.calls("/api/v3/exchangeInfo")) == 1  # spot only: no sapi/fapi/dapi


def test_depth_becomes_a_decimal_book_snapshot(ex):
    book = ex.fetch_order_book("BTC/USDT", 5)
    ts = datetime(2023, 11, 14, tzinfo=UTC)
    snap = to_book_snapshot("binance", book, ts)
    assert snap.symbol == "BTC/USDT" and len(snap.bids) == 5 and len(snap.asks) == 5
    top = snap.top()
    assert isinstance(top.bid, Decimal) and top.ask - top.bid == Decimal("1.0")
    assert str(top.bid_size) == "0.5"  # no float noise
    assert to_book_snapshot("binance", book, ts, depth=2).bids == snap.bids[:2]


def test_ticker(ex):
    ticker = ex.fetch_ticker("ETH/USDT")
    assert ticker["symbol"] == "ETH/USDT" and ticker["bid"] < ticker["ask"]


def test_klines_paginate_over_three_pages_and_resume(ex, fake):
    since = MINUTE_START - 250 * MINUTE_MS
    pages = list(ex.fetch_ohlcv_range("BTC/USDT", "1m", since, MINUTE_START, page_limit=100))
    assert [len(p) for p in pages] == [100, 100, 50]
    times = [row[0] for page in pages for row in page]
    assert times == list(range(since, MINUTE_START, MINUTE_MS))  # contiguous, no repeats
    starts = [int(q["startTime"]) for q in fake.calls("/api/v3/klines")]
    assert starts == [since, since + 100 * MINUTE_MS, since + 200 * MINUTE_MS]

    # resume from the last stored bar: only what is missing is fetched
    resume = times[179] + MINUTE_MS
    rest = [row[0] for page in ex.fetch_ohlcv_range("BTC/USDT", "1m", resume, MINUTE_START, 100)
            for row in page]
    assert rest == times[180:]


def test_bar_still_forming_is_not_yielded_and_bars_are_decimal(ex):
    since = datetime.fromtimestamp((MINUTE_START - 3 * MINUTE_MS) / 1000, UTC)
    until = datetime.fromtimestamp(MINUTE_START / 1000, UTC)
    bars = [b for page in ex.fetch_bars("BTC/USDT", since, until) for b in page]
    assert [b.open_time for b in bars][-1] < until and len(bars) == 3
    assert bars[0].venue == "binance" and isinstance(bars[0].close, Decimal)


def test_429_then_success_honours_retry_after(ex, fake, sleeps):
    fake.fail(429, {"code": -1003, "msg": "Too many requests."}, retry_after=2, path="/api/v3/ticker/24hr")
    assert ex.fetch_ticker("BTC/USDT")["symbol"] == "BTC/USDT"
    assert sleeps == [2.0]
    assert len(fake.calls("/api/v3/ticker/24hr")) == 2


def test_429_without_retry_after_backs_off_exponentially(ex, fake, sleeps):
    fake.fail(429, times=2, path="/api/v3/depth")
    ex.fetch_order_book("BTC/USDT")
    assert sleeps == [0.375, 0.75]  # equal jitter at rand=0.5: 3/4 of 0.5 s, then of 1 s


def test_persistent_418_gives_rate_limited_after_bounded_attempts(ex, fake, sleeps):
    ex.load_markets()
    fake.fail(418, {"code": -1003, "msg": "Way too many requests; IP banned."}, times=None,
              retry_after=3)
    with pytest.raises(ExchangeRateLimited) as info:
        ex.fetch_order_book("BTC/USDT")
    assert isinstance(info.value, TransientError) and info.value.retry_after == 3.0
    assert isinstance(info.value.__cause__, ccxt.DDoSProtection)
    assert len(fake.calls("/api/v3/depth")) == 4
    assert sleeps == [3.0, 3.0, 3.0]


def test_5xx_is_retried_on_reads_but_not_on_order_creation(ex, fake, sleeps):
    ex.load_markets()
    fake.fail(502, "<html>bad gateway</html>", path="/api/v3/depth")
    ex.fetch_order_book("BTC/USDT")
    assert len(sleeps) == 1
    fake.fail(503, "<html>unavailable</html>", path="/api/v3/order")
    with pytest.raises(ExchangeUnavailable):
        ex.create_order("BTC/USDT", "limit", "buy", Decimal("0.001"), Decimal(29000),
                        client_order_id="tw5xx0000001")
    assert len(fake.calls("/api/v3/order", "POST")) == 1


def test_insufficient_balance_maps_to_insufficient_funds(ex, fake):
    with pytest.raises(InsufficientFunds) as info:
        ex.create_order("BTC/USDT", "limit", "buy", Decimal(1), Decimal(29000),
                        client_order_id="twpoor000001")
    assert isinstance(info.value, PermanentError)
    assert isinstance(info.value.__cause__, ccxt.InsufficientFunds)


def test_order_lifecycle_by_client_order_id(ex, fake):
    cid = "tw0123456789abcdef0123456789ab"
    created = ex.create_order("BTC/USDT", "limit", "buy", Decimal("0.001"), Decimal(29000),
                              client_order_id=cid)
    assert created["clientOrderId"] == cid and created["status"] == "open"
    assert fake.calls("/api/v3/order", "POST")[0]["newClientOrderId"] == cid

    assert ex.fetch_order_by_client_id(cid, "BTC/USDT")["id"] == created["id"]
    assert [o["clientOrderId"] for o in ex.fetch_open_orders("BTC/USDT")] == [cid]
    ex.cancel_order_by_client_id(cid, "BTC/USDT")
    assert fake.calls("/api/v3/order", "DELETE")[0]["origClientOrderId"] == cid
    assert ex.fetch_order_by_client_id(cid, "BTC/USDT")["status"] == "canceled"
    assert ex.fetch_open_orders("BTC/USDT") == []
    with pytest.raises(OrderRejected):
        ex.cancel_order_by_client_id(cid, "BTC/USDT")
    with pytest.raises(OrderNotFound):
        ex.fetch_order_by_client_id("twnever000000", "BTC/USDT")


def test_price_and_amount_rounded_to_tick_and_step(ex, fake):
    prepared = ex.prepare_order("BTC/USDT", "buy", Decimal("0.0012345"), Decimal("29000.126"))
    assert prepared.amount == Decimal("0.00123") and prepared.price == Decimal("29000.13")
    ex.create_order("BTC/USDT", "limit", "buy", Decimal("0.0012345"), Decimal("29000.126"),
                    client_order_id="twround00001")
    sent = fake.calls("/api/v3/order", "POST")[0]
    assert (sent["quantity"], sent["price"]) == ("0.00123", "29000.13")


def test_min_notional_and_min_amount_rejected_before_sending(ex, fake):
    with pytest.raises(OrderRejected, match="notional .* below the venue minimum 5"):
        ex.create_order("BTC/USDT", "limit", "buy", Decimal("0.0001"), Decimal(30000),
                        client_order_id="twsmall00001")
    with pytest.raises(OrderRejected, match="rounds to nothing"):
        ex.create_order("BTC/USDT", "limit", "buy", Decimal("0.000001"), Decimal(30000),
                        client_order_id="twtiny000001")
    with pytest.raises(OrderRejected, match="notional"):  # market: checked against the ticker
        ex.create_order("BTC/USDT", "market", "sell", Decimal("0.0001"),
                        client_order_id="twmkt0000001")
    assert fake.calls("/api/v3/order", "POST") == []


def test_bad_signature_is_authentication_failed(fake):
    ex = CcxtExchange("binance", api_key=API_KEY, secret="wrong", urls_override=fake.url,
                      timeout_ms=2000, rate_limit_ms=0)
    with pytest.raises(AuthenticationFailed):
        ex.fetch_balance()


def test_balance(ex):
    assert ex.fetch_balance()["free"]["USDT"] == 10000


def test_unreachable_venue_is_unavailable_after_bounded_retries(sleeps):
    ex = CcxtExchange("binance", urls_override="http://127.0.0.1:9", timeout_ms=500,
                      rate_limit_ms=0, sleep=sleeps, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ExchangeUnavailable):
        ex.load_markets()
    assert len(sleeps) == 1


def test_credentials_never_in_repr(ex):
    assert API_SECRET not in repr(ex) and API_SECRET not in repr(ex.settings)


@pytest.mark.parametrize("error, ours", [
    (ccxt.RequestTimeout("t"), ExchangeUnavailable),
    (ccxt.ExchangeNotAvailable("down"), ExchangeUnavailable),
    (ccxt.RateLimitExceeded("429"), ExchangeRateLimited),
    (ccxt.DDoSProtection("418"), ExchangeRateLimited),
    (ccxt.InsufficientFunds("poor"), InsufficientFunds),
    (ccxt.InvalidOrder("bad"), OrderRejected),
    (ccxt.OrderNotFound("gone"), OrderNotFound),
    (ccxt.BadRequest("bad"), OrderRejected),
    (ccxt.AuthenticationError("key"), AuthenticationFailed),
    (ccxt.ExchangeError("other"), PermanentError),
])
def test_error_mapping(error, ours):
    assert isinstance(map_error(error), ours)


def test_ccxt_calls_do_not_change_our_decimal_rounding(ex):
    """ccxt sets ROUND_HALF_UP on the thread's context; the adapter keeps it private."""
    import decimal

    before = decimal.getcontext().rounding
    ex.load_markets()
    ex._ex.amount_to_precision("BTC/USDT", "0.123456789")
    assert decimal.getcontext().rounding == before == decimal.ROUND_HALF_EVEN
    assert f"{decimal.Decimal('500.25'):.1f}" == "500.2"
