"""A fake Binance spot websocket stream server on 127.0.0.1, paired with `FakeBinance` (REST).

It speaks the part of Binance's stream protocol that ccxt.pro's real `binance` class uses to
keep an order book with `watch_order_book`:
- a client connects to `/ws/<n>` and sends `{"method": "SUBSCRIBE", "params":
  ["btcusdt@depth@100ms"], "id": 1}`; the server answers `{"result": null, "id": 1}`
  (UNSUBSCRIBE likewise, anything else gets an `error` reply);
- ccxt then takes a REST snapshot from the paired fake's `/api/v3/depth` (lastUpdateId L)
  and applies `depthUpdate` events `{"e", "E", "s", "U", "u", "b", "a"}` whose ids
  continue L: the first one with U <= L+1 <= u, then each U = previous u + 1.

Consistency with REST: the book is the REST fake's book at its clock `now_ms`, and the
update id is `now_ms` itself (the REST snapshot's lastUpdateId). When the REST fake's clock
moves (`FakeBinance.set_now`), the server pushes one event per subscribed symbol with
U = previous u + 1, u = the new now_ms and the level changes (size "0" removes a level)
that turn the previous book into the new one; an event is pushed even when no level
changed, like a busy venue. So snapshot(L) + events with u > L = the REST book now.

Scripting: `drop()` closes every open connection (clients see a close frame);
`set_down(True)` also refuses new handshakes with HTTP 503 (optionally with Retry-After);
`set_silent(True)` keeps connections open but pushes nothing. The server runs in its own
thread and event loop, and stops by itself after `max_lifetime_s` even if a test forgets
to close it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any, Self

import ccxt.pro
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from shared.adapters.ccxt.config import rebase_tree
from tests.integration.fake_binance import MINUTE_MS, SYMBOLS, FakeBinance, kline

Levels = dict[str, str]  # price → size, both as Binance's decimal strings


def rest_book(symbol: str, now_ms: int, levels: int) -> tuple[Levels, Levels]:
    """The REST fake's /api/v3/depth book at `now_ms` (same formula), as bids, asks."""
    last = (now_ms // MINUTE_MS - 1) * MINUTE_MS
    mid = Decimal(kline(symbol, last)[4])
    bids = {f"{mid - Decimal('0.5') - i:.2f}": f"{Decimal('0.5') + i:.5f}" for i in range(levels)}
    asks = {f"{mid + Decimal('0.5') + i:.2f}": f"{Decimal('0.4') + i:.5f}" for i in range(levels)}
    return bids, asks


def level_changes(old: Levels, new: Levels) -> list[list[str]]:
    """Binance delta rows turning `old` into `new`: changed levels, removed ones at size 0."""
    rows = [[p, s] for p, s in new.items() if old.get(p) != s]
    rows += [[p, "0.00000000"] for p in old if p not in new]
    return sorted(rows, key=lambda row: Decimal(row[0]))


def binance_urls(rest_url: str, ws_url: str) -> dict[str, Any]:
    """`urls_override` for CcxtSettings/CcxtExchange: REST at `rest_url`, streams at `ws_url`."""
    api = rebase_tree(ccxt.pro.binance().describe()["urls"]["api"], rest_url)
    api["ws"] = rebase_tree(ccxt.pro.binance().describe()["urls"]["api"]["ws"], ws_url)
    return api


@dataclass
class _Symbol:
    bids: Levels
    asks: Levels
    last_u: int


@dataclass
class WsStats:
    handshakes: int = 0  # accepted websocket connections
    refused: int = 0  # handshakes answered 503 while down
    subscribes: list[list[str]] = field(default_factory=list)  # params of each SUBSCRIBE
    events: int = 0  # depthUpdate frames sent (all connections)
    drops: int = 0  # connections closed by drop()/set_down()


class FakeBinanceWs:
    """`with FakeBinanceWs(rest) as ws:`; `ws.url` is ws://127.0.0.1:PORT and
    `binance_urls(rest.url, ws.url)` points ccxt at both fakes."""

    def __init__(self, rest: FakeBinance, *, levels: int = 20, tick_s: float = 0.005,
                 max_lifetime_s: float = 60.0):
        self.rest = rest
        self.levels = levels
        self.tick_s = tick_s
        self.max_lifetime_s = max_lifetime_s
        self.stats = WsStats()
        self.down = False
        self.retry_after_s: float | None = None
        self.silent = False
        self.port: int | None = None
        now = rest.state.now_ms
        self._symbols = {sid: _Symbol(*rest_book(sid, now, levels), last_u=now) for sid in SYMBOLS}
        self._subs: dict[ServerConnection, set[str]] = {}
        self._closing: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fake-binance-ws", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(5) or self._error is not None:
            raise RuntimeError(f"fake Binance ws server did not start: {self._error!r}")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    # -- scripting (from the test's thread) --------------------------------------------
    def drop(self) -> int:
        """Send every open connection a close frame; returns how many. It does not wait for
        the closing handshake, so a client on the caller's own event loop can answer it."""
        return self._call(self._drop(wait=False))

    def set_down(self, down: bool, retry_after_s: float | None = None) -> None:
        """Down: open connections are dropped and new handshakes get HTTP 503 (with a
        Retry-After header when `retry_after_s` is given)."""
        self.down, self.retry_after_s = down, retry_after_s
        if down:
            self.drop()

    def set_silent(self, silent: bool) -> None:
        self.silent = silent

    def connections(self) -> int:
        return len(self._subs)

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        """Poll `predicate(self)` until true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def _call(self, coro, timeout: float = 5.0):
        assert self._loop is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- the server (its own thread and loop) --------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except OSError as exc:  # cannot bind: reported by __enter__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, process_request=self._handshake,
                         ping_interval=None, close_timeout=1) as server:
            self.port = server.sockets[0].getsockname()[1]
            ticker = asyncio.create_task(self._tick())
            self._ready.set()
            try:
                await asyncio.wait_for(self._stop.wait(), self.max_lifetime_s)
            except TimeoutError:
                pass  # bounded: a forgotten server stops by itself
            finally:
                ticker.cancel()
                await self._drop()
                if self._closing:
                    await asyncio.wait(self._closing, timeout=2)

    def _handshake(self, connection: ServerConnection, request):
        if not request.path.startswith("/ws"):
            return connection.respond(HTTPStatus.NOT_FOUND, "no such stream endpoint\n")
        if self.down:
            self.stats.refused += 1
            response = connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down\n")
            if self.retry_after_s is not None:
                response.headers["Retry-After"] = f"{self.retry_after_s:g}"
            return response
        return None

    async def _session(self, connection: ServerConnection) -> None:
        self.stats.handshakes += 1
        self._subs[connection] = set()
        try:
            async for raw in connection:
                await connection.send(json.dumps(self._request(connection, raw)))
        except ConnectionClosed:
            pass
        finally:
            self._subs.pop(connection, None)

    def _request(self, connection: ServerConnection, raw: str | bytes) -> dict:
        try:
            message = json.loads(raw)
            method, params, rid = message["method"], list(message.get("params") or []), message["id"]
        except (ValueError, KeyError, TypeError):
            return {"error": {"code": 3, "msg": "Invalid JSON: expected a request"}, "id": None}
        streams = {p.split("@", 1)[0].upper() for p in params if "@depth" in p}
        subscribed = self._subs.get(connection, set())  # a dropped one: a throwaway set
        if method == "SUBSCRIBE":
            unknown = streams - set(self._symbols)
            if unknown or len(streams) != len(params):
                return {"error": {"code": 2, "msg": f"Invalid request: {params}"}, "id": rid}
            self.stats.subscribes.append(params)
            subscribed |= streams
            return {"result": None, "id": rid}
        if method == "UNSUBSCRIBE":
            subscribed -= streams
            return {"result": None, "id": rid}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": rid}

    async def _tick(self) -> None:
        while True:
            now = self.rest.state.now_ms
            for sid, book in self._symbols.items():
                if now > book.last_u and not self.silent:
                    await self._publish(sid, book, now)
            await asyncio.sleep(self.tick_s)

    async def _publish(self, sid: str, book: _Symbol, now: int) -> None:
        bids, asks = rest_book(sid, now, self.levels)
        event = {"e": "depthUpdate", "E": now, "s": sid, "U": book.last_u + 1, "u": now,
                 "b": level_changes(book.bids, bids), "a": level_changes(book.asks, asks)}
        book.bids, book.asks, book.last_u = bids, asks, now
        frame = json.dumps(event)
        for connection, subscribed in list(self._subs.items()):
            if sid in subscribed:
                try:
                    await connection.send(frame)
                    self.stats.events += 1
                except ConnectionClosed:
                    pass

    async def _drop(self, wait: bool = True) -> int:
        open_now = list(self._subs)
        self._subs = {}  # no more pushes to them
        closing = [asyncio.create_task(connection.close(1001, "going away"))  # a restart
                   for connection in open_now]
        self._closing.update(closing)
        for task in closing:
            task.add_done_callback(self._closing.discard)
        if wait and closing:
            await asyncio.wait(closing, timeout=2)
        self.stats.drops += len(open_now)
        return len(open_now)
