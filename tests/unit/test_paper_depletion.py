"""The paper exchange depletes a book within one snapshot: a second order against the same
unchanged book walks only what the first left; a new snapshot (another ts) has full depth."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.contracts import ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.execution.paper import PaperExchange, walk_book
from tests.executor_fixtures import T0, book

pytestmark = pytest.mark.timeout(10)
D = Decimal


def order(cause: str, qty: str, side: Side = Side.BUY, symbol: str = "BTC/USDT", limit: str | None = None) -> Order:
    kw = {"order_type": OrderType.LIMIT_IOC, "limit_price": D(limit)} if limit else {}
    return Order(client_order_id=client_order_id(cause), venue="binance", symbol=symbol, side=side,
                 quantity=D(qty), reference_price=D("100"), created_at=T0, **kw)


class Books:
    """The books the exchange reads (a hand-written stand-in for the book cache)."""

    def __init__(self):
        self.now = {s: book("binance", s, [("99", 3), ("98", 3)], [("100", 2), ("101", 2), ("102", 2)])
                    for s in ("BTC/USDT", "ETH/USDT")}

    def __call__(self, venue, symbol):
        return self.now[symbol]


@pytest.fixture
def books():
    return Books()


@pytest.fixture
def paper(books, clock):
    return PaperExchange(books=books, fees_bps={"binance": D(10)}, clock=clock)


def test_a_second_order_on_an_unchanged_book_walks_what_the_first_left(paper, books):
    first = paper.execute(order("a", "3"))
    assert first.status is ExecutionStatus.FILLED and first.price == (2 * D(100) + D(101)) / 3  # 2@100 + 1@101
    worse = paper.execute(order("b", "2"))
    assert worse.status is ExecutionStatus.FILLED and worse.price == D("101.5")  # 1@101 + 1@102
    short = paper.execute(order("b2", "3"))
    assert short.status is ExecutionStatus.PARTIALLY_FILLED and (short.filled_quantity, short.price) == (D(1), D(102))
    assert short.expected_price == D(100)  # the touch the order was priced on: depletion is slippage
    third = paper.execute(order("c", "1"))
    assert third.status is ExecutionStatus.CANCELLED and third.filled_quantity == 0  # the asks are gone
    # the other side and another symbol are untouched
    assert paper.execute(order("d", "2", Side.SELL)).price == D(99)
    assert paper.execute(order("e", "6", symbol="ETH/USDT")).filled_quantity == D(6)
    # walk_book itself is pure: the snapshot still holds its full depth
    assert walk_book(books("binance", "BTC/USDT"), Side.BUY, D(6)).quantity == D(6)


def test_an_ioc_limit_stops_on_what_is_left_below_its_price(paper):
    assert paper.execute(order("a", "3", limit="101")).filled_quantity == D(3)
    ioc = paper.execute(order("b", "3", limit="101"))
    assert ioc.status is ExecutionStatus.PARTIALLY_FILLED and (ioc.filled_quantity, ioc.price) == (D(1), D(101))


def test_a_new_snapshot_of_the_book_has_its_full_depth_again(paper, books):
    paper.execute(order("a", "6"))
    assert paper.execute(order("b", "1")).filled_quantity == 0
    same = books.now["BTC/USDT"]
    books.now["BTC/USDT"] = same.model_copy(update={"ts": T0 + timedelta(seconds=1)})
    again = paper.execute(order("c", "3"))
    assert again.status is ExecutionStatus.FILLED and again.price == (2 * D(100) + D(101)) / 3


def test_concurrent_legs_never_take_the_same_level_twice(paper):
    with ThreadPoolExecutor(8) as pool:
        fills = list(pool.map(paper.execute, [order(f"leg{i}", "1") for i in range(8)]))
    assert sum(f.filled_quantity for f in fills) == D(6)
    assert sum(f.filled_quantity * f.price for f in fills) == 2 * (D(100) + D(101) + D(102))
