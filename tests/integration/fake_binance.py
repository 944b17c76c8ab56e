"""A fake Binance spot REST server on 127.0.0.1 for the ccxt adapter's tests.

It answers the endpoints ccxt's real `binance` class calls, with Binance's own payload
shapes: exchangeInfo, depth, klines (startTime/endTime/limit), ticker/24hr, order
POST/GET/DELETE (newClientOrderId / origClientOrderId), openOrders and account. Private
endpoints check the X-MBX-APIKEY header and the HMAC-SHA256 signature like Binance.

Faults are scripted through `FakeBinance.fail(...)`: a status (429, 418, 5xx) with an
optional Retry-After header, or a Binance error JSON, for the next N requests (or for
ever), optionally only for one path. `down = True` answers 503 to everything.
Klines come from a deterministic minute series and are served only up to `now_ms`
(the fake's clock), like a live venue.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlparse

API_KEY = "test-key"
API_SECRET = "test-secret"
MINUTE_MS = 60_000

SYMBOLS = {
    # id: (base, quote, tickSize, stepSize, minQty, minNotional, base price)
    "BTCUSDT": ("BTC", "USDT", "0.01", "0.00001", "0.00001", "5.00", 30_000),
    "ETHUSDT": ("ETH", "USDT", "0.01", "0.0001", "0.0001", "5.00", 2_000),
}
INSUFFICIENT = {"code": -2010, "msg": "Account has insufficient balance for requested action."}


@dataclass
class Fault:
    status: int
    body: dict | str | None = None
    retry_after: float | None = None
    remaining: int | None = 1  # None: for ever
    path: str | None = None


@dataclass
class FakeState:
    now_ms: int
    history_start_ms: int
    balances: dict[str, Decimal] = field(default_factory=lambda: {
        "USDT": Decimal(10000), "BTC": Decimal(1), "ETH": Decimal(0)})
    orders: dict[str, dict] = field(default_factory=dict)  # by clientOrderId
    faults: list[Fault] = field(default_factory=list)
    down: bool = False
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def kline(symbol: str, open_ms: int) -> list:
    """A deterministic 1-minute kline (Binance's 12-field array)."""
    base = SYMBOLS[symbol][6]
    n = open_ms // MINUTE_MS
    o = Decimal(base) + Decimal((n * 37) % 200) / 10
    c = Decimal(base) + Decimal(((n + 1) * 37) % 200) / 10
    hi, lo = max(o, c) + 1, min(o, c) - 1
    vol = Decimal(1 + n % 7) / 4
    return [open_ms, f"{o:.2f}", f"{hi:.2f}", f"{lo:.2f}", f"{c:.2f}", f"{vol:.5f}",
            open_ms + MINUTE_MS - 1, f"{vol * c:.2f}", 10 + n % 5, "0", "0", "0"]


class FakeBinance:
    """Start with `with FakeBinance(...) as fake:`; `fake.url` is http://127.0.0.1:PORT."""

    def __init__(self, now_ms: int, history_start_ms: int | None = None):
        start = history_start_ms if history_start_ms is not None else now_ms - 1440 * MINUTE_MS
        self.state = FakeState(now_ms=now_ms, history_start_ms=start)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting ------------------------------------------------------------------
    def fail(self, status: int, body: dict | str | None = None, *, times: int | None = 1,
             retry_after: float | None = None, path: str | None = None) -> None:
        with self.state.lock:
            self.state.faults.append(Fault(status, body, retry_after, times, path))

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def set_down(self, down: bool) -> None:
        self.state.down = down

    def set_now(self, now_ms: int) -> None:
        self.state.now_ms = now_ms

    def calls(self, path: str, method: str | None = None) -> list[dict]:
        return [q for m, p, q in list(self.state.requests)
                if p == path and (method is None or m == method)]


def _handler_for(state: FakeState):
    ids = itertools.count(1001)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers+body in two writes cost 40 ms

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        # -- plumbing -----------------------------------------------------------------
        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            raw_query = url.query + ("&" if url.query and body else "") + body
            query = dict(parse_qsl(raw_query, keep_blank_values=True))
            with state.lock:
                state.requests.append((method, url.path, query))
                fault = self._take_fault(url.path)
            if state.down:
                return self._send(503, "Service Unavailable")
            if fault:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return self._send(fault.status, fault.body or {"code": -1003, "msg": "fault"}, headers)
            route = ROUTES.get((method, url.path))
            if route is None:
                return self._send(404, {"code": -1, "msg": f"no route {method} {url.path}"})
            if route[1]:  # signed
                error = _check_signature(self.headers.get("X-MBX-APIKEY"), raw_query)
                if error:
                    return self._send(401, error)
            status, payload = route[0](query)
            self._send(status, payload)

        def _take_fault(self, path: str) -> Fault | None:
            for fault in state.faults:
                if fault.path in (None, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            state.faults.remove(fault)
                    return fault
            return None

        def _send(self, status: int, payload, headers: dict | None = None) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    # -- endpoints ---------------------------------------------------------------------
    def exchange_info(q):
        symbols = [{
            "symbol": sid, "status": "TRADING", "baseAsset": b, "baseAssetPrecision": 8,
            "quoteAsset": qa, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True,
            "ocoAllowed": True, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
            "permissions": [], "permissionSets": [["SPOT"]],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00",
                 "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.00000000",
                 "stepSize": step},
                {"filterType": "NOTIONAL", "minNotional": min_notional, "applyMinToMarket": True,
                 "maxNotional": "9000000.00", "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
        } for sid, (b, qa, tick, step, min_qty, min_notional, _) in SYMBOLS.items()]
        return 200, {"timezone": "UTC", "serverTime": state.now_ms, "rateLimits": [],
                     "exchangeFilters": [], "symbols": symbols}

    def _mid(symbol: str) -> Decimal:
        last = (state.now_ms // MINUTE_MS - 1) * MINUTE_MS
        return Decimal(kline(symbol, last)[4])

    def depth(q):
        sym = q.get("symbol")
        if sym not in SYMBOLS:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        mid, n = _mid(sym), int(q.get("limit", 5))
        bids = [[f"{mid - Decimal('0.5') - i:.2f}", f"{Decimal('0.5') + i:.5f}"] for i in range(n)]
        asks = [[f"{mid + Decimal('0.5') + i:.2f}", f"{Decimal('0.4') + i:.5f}"] for i in range(n)]
        return 200, {"lastUpdateId": state.now_ms, "bids": bids, "asks": asks}

    def klines(q):
        sym = q.get("symbol")
        if sym not in SYMBOLS or q.get("interval") != "1m":
            return 400, {"code": -1120, "msg": "Invalid interval or symbol."}
        limit = min(int(q.get("limit", 500)), 1000)
        start = int(q.get("startTime", state.now_ms - limit * MINUTE_MS))
        start = max(start, state.history_start_ms)
        first = -(-start // MINUTE_MS) * MINUTE_MS
        end = int(q.get("endTime", state.now_ms))
        rows = []
        t = first
        while t <= min(end, state.now_ms) and len(rows) < limit:
            rows.append(kline(sym, t))  # includes the bar still forming, like Binance
            t += MINUTE_MS
        return 200, rows

    def ticker(q):
        sym = q.get("symbol")
        mid = _mid(sym)
        return 200, {"symbol": sym, "priceChange": "0", "priceChangePercent": "0",
                     "weightedAvgPrice": f"{mid}", "prevClosePrice": f"{mid}",
                     "lastPrice": f"{mid}", "lastQty": "0.1", "bidPrice": f"{mid - Decimal('0.5')}",
                     "bidQty": "0.5", "askPrice": f"{mid + Decimal('0.5')}", "askQty": "0.4",
                     "openPrice": f"{mid}", "highPrice": f"{mid + 10}", "lowPrice": f"{mid - 10}",
                     "volume": "100", "quoteVolume": f"{mid * 100}", "openTime": state.now_ms - 86_400_000,
                     "closeTime": state.now_ms, "firstId": 1, "lastId": 2, "count": 2}

    def account(q):
        return 200, {"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                     "canWithdraw": True, "canDeposit": True, "updateTime": state.now_ms,
                     "accountType": "SPOT", "permissions": ["SPOT"],
                     "balances": [{"asset": a, "free": f"{v}", "locked": "0"}
                                  for a, v in state.balances.items()]}

    def new_order(q):
        sym, side, typ = q["symbol"], q["side"], q["type"]
        base, quote = SYMBOLS[sym][0], SYMBOLS[sym][1]
        qty = Decimal(q["quantity"])
        price = Decimal(q["price"]) if "price" in q else _mid(sym)
        cid = q.get("newClientOrderId") or f"auto{next(ids)}"
        with state.lock:
            if cid in state.orders:
                return 400, {"code": -2010, "msg": "Duplicate order sent."}
            if side == "BUY" and state.balances.get(quote, Decimal(0)) < qty * price:
                return 400, INSUFFICIENT
            if side == "SELL" and state.balances.get(base, Decimal(0)) < qty:
                return 400, INSUFFICIENT
            order = {"symbol": sym, "orderId": next(ids), "orderListId": -1, "clientOrderId": cid,
                     "transactTime": state.now_ms, "time": state.now_ms, "updateTime": state.now_ms,
                     "price": q.get("price", "0.00"), "origQty": q["quantity"],
                     "executedQty": "0", "cummulativeQuoteQty": "0", "status": "NEW",
                     "timeInForce": q.get("timeInForce", "GTC"), "type": typ, "side": side,
                     "stopPrice": "0", "icebergQty": "0", "isWorking": True,
                     "workingTime": state.now_ms, "origQuoteOrderQty": "0",
                     "selfTradePreventionMode": "NONE", "fills": []}
            state.orders[cid] = order
        return 200, order

    def _find(q):
        cid = q.get("origClientOrderId")
        if cid is None and "orderId" in q:
            cid = next((c for c, o in state.orders.items() if str(o["orderId"]) == q["orderId"]), None)
        return state.orders.get(cid or "")

    def get_order(q):
        order = _find(q)
        if order is None:
            return 400, {"code": -2013, "msg": "Order does not exist."}
        return 200, order

    def cancel_order(q):
        order = _find(q)
        if order is None or order["status"] != "NEW":
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        order["status"] = "CANCELED"
        order["isWorking"] = False
        return 200, {**order, "origClientOrderId": order["clientOrderId"],
                     "clientOrderId": f"cancel{next(ids)}"}

    def open_orders(q):
        return 200, [o for o in state.orders.values() if o["status"] == "NEW"
                     and q.get("symbol") in (None, o["symbol"])]

    ROUTES = {
        ("GET", "/api/v3/exchangeInfo"): (exchange_info, False),
        ("GET", "/api/v3/depth"): (depth, False),
        ("GET", "/api/v3/klines"): (klines, False),
        ("GET", "/api/v3/ticker/24hr"): (ticker, False),
        ("GET", "/api/v3/account"): (account, True),
        ("POST", "/api/v3/order"): (new_order, True),
        ("GET", "/api/v3/order"): (get_order, True),
        ("DELETE", "/api/v3/order"): (cancel_order, True),
        ("GET", "/api/v3/openOrders"): (open_orders, True),
    }
    return Handler


def _check_signature(api_key: str | None, raw_query: str) -> dict | None:
    if api_key != API_KEY:
        return {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    payload, _, signature = raw_query.rpartition("&signature=")
    expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return {"code": -1022, "msg": "Signature for this request is not valid."}
    return None
