"""A seeded multi-venue market: latent prices, venue quotes, L2 books and 1-minute bars.

The market is generated in one-hour blocks on a fixed update grid (default 5 s), each
block's randomness keyed by (seed, block, name): the same seed gives bit-identical bars
whatever steps the caller advances in. `advance(to)` is vectorised per block; L2 books
are built only when asked for. Incidents (outages, stale books, latency spikes,
planted crashes) come from a schedule tests and replays can set. `regime` picks the latent
market's structure (shared/market/regimes.py): "random" (the default, a pure random walk),
"trend", "range" or "mixed"; bars for a seed under "random" are unchanged by the option.
`dislocations()` lists every venue dislocation planted so far (the record
bench/arbitrage_capture.py scores the arbitrage engine against, with shared/market/oracle.py).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from shared.config.venues import MarketConfig
from shared.contracts import Bar, BookSnapshot, BookTop
from shared.errors import ExchangeUnavailable
from shared.market.bars import BarTicks, block_arrays, block_bars
from shared.market.depth import QuotePoint, book_snapshot, book_top, top_of, touches
from shared.market.latent import LatentBlock, LatentProcess, stream
from shared.market.microstructure import Dislocation, PairProcess, PairRaw
from shared.market.quotes import PairQuotes, derive
from shared.market.regimes import RegimeProcess, check
from shared.market.schedule import Schedule, Window, random_incidents, seconds
from shared.market.ticks import Grid

BLOCK_MINUTES = 60
_EPS = 1e-6


class _Block:
    def __init__(self, latent: LatentBlock, raws: dict[tuple[str, str], PairRaw], tail: np.ndarray):
        self.latent = latent
        self.raws = raws
        self.tail = tail                      # latent log prices of the steps just before
        self.quotes: dict[tuple[str, str], PairQuotes] = {}
        self.touches: dict[tuple[str, str], list] = {}  # per pair: depth.touches rows, when first read
        self.touch_arrays: dict[tuple[str, str], np.ndarray] = {}  # the same, as the (steps, 4) array
        self.bar_ticks: dict[tuple[str, str], BarTicks] = {}  # per pair: the bars in grid units, when first closed


class MarketSimulator:
    def __init__(
        self, config: MarketConfig, seed: int, start: datetime, *, update_interval_s: float = 5.0,
        regime: str = "random",
    ):
        spm = 60.0 / update_interval_s
        if update_interval_s <= 0 or abs(spm - round(spm)) > 1e-9:
            raise ValueError(f"update_interval_s must divide a minute, got {update_interval_s}")
        self.config, self.seed = config, seed
        self.step_s = float(update_interval_s)
        self.spm = round(spm)
        self.block_steps = self.spm * BLOCK_MINUTES
        start = start.astimezone(UTC)
        self.origin = start.replace(second=0, microsecond=0)
        self._origin_s = self.origin.timestamp()
        self.now = start
        self.venues = [v.name for v in config.enabled_venues]
        self.pairs = sorted((v, s) for v in self.venues for s in config.symbols_of(v))
        self._venue_cfg = {v.name: v for v in config.enabled_venues}
        self._grids = {
            s: (Grid(i.tick_size), Grid(i.lot_size)) for s, i in config.instruments.items()
        }
        self.latent = LatentProcess(config, seed, self.spm, BLOCK_MINUTES)
        self.regime = check(regime)
        self.structure = None if regime == "random" else RegimeProcess(regime, config, seed, self.spm)
        self._pair_proc = {
            (v, s): PairProcess(self._venue_cfg[v], s, config.instruments[s], seed, self.spm,
                                BLOCK_MINUTES, self.step_s)
            for v, s in self.pairs
        }
        max_lag = max((self._venue_cfg[v].sim.lag_ms for v in self.venues), default=0.0)
        self._tail = math.floor(max_lag / 1000.0 / self.step_s) + 2
        self.schedule = Schedule()
        self._blocks: dict[int, _Block] = {}
        self._step = self._step_at(start.timestamp())
        self._updates = 0
        self._pending_holds: list[tuple[str, Window, int]] = []
        self._held: dict[tuple[str, Window], dict[str, QuotePoint]] = {}
        self._books: dict[tuple[str, str, int], BookSnapshot] = {}
        self._tops: dict[tuple[str, str, int], BookTop] = {}

    # -- time grid ------------------------------------------------------------------------
    def _step_at(self, t: float) -> int:
        return math.floor((t - self._origin_s) / self.step_s + _EPS)

    def _step_time(self, step: int) -> datetime:
        return self.origin + timedelta(seconds=step * self.step_s)

    # -- generation -----------------------------------------------------------------------
    def _block(self, b: int) -> _Block:
        block = self._blocks.get(b)
        if block is not None:
            return block
        if b != self.latent.next_block:
            raise RuntimeError(f"block {b} is no longer held (next is {self.latent.next_block})")
        prev = self._blocks.get(b - 1)
        carry = self.latent.logp.copy()
        latent = self.latent.generate()
        if self.structure is not None:
            self.structure.apply(latent, carry)
        if prev is None:
            tail = np.repeat(latent.logp[:1], self._tail, axis=0)
        else:
            tail = prev.latent.logp[-self._tail:]
        raws = {pair: proc.generate(b) for pair, proc in self._pair_proc.items()}
        block = _Block(latent, raws, tail)
        self._derive(b, block)
        self._blocks[b] = block
        self._draw_incidents(b)
        for old in [k for k in self._blocks if k < b - 1]:
            del self._blocks[old]
        return block

    def _draw_incidents(self, b: int) -> None:
        start = self.origin + timedelta(minutes=b * BLOCK_MINUTES)
        for venue in self.venues:
            rng = stream(self.seed, b, "incidents", venue)
            for inc in random_incidents(self._venue_cfg[venue].sim, rng, start, BLOCK_MINUTES / 60):
                if inc.kind == "outage":
                    self.schedule_outage(venue, inc.start, inc.end)
                elif inc.kind == "stale":
                    self.schedule_stale(venue, inc.start, inc.end)
                else:
                    self.schedule_latency_spike(venue, inc.start, inc.end, inc.extra_ms)

    def _derive(self, b: int, block: _Block) -> None:
        lat, n, tail = block.latent, self.block_steps, self._tail
        first = b * n
        logp = np.concatenate([block.tail, lat.logp])
        times = self._origin_s + (first - tail + np.arange(tail + n)) * self.step_s
        overlays = {}
        for a, asset in enumerate(self.latent.assets):
            offset = self.schedule.overlay(asset, times)
            if offset is not None:
                logp[:, a] += offset
                overlays[asset] = offset
        cfg = self.config
        block.touches, block.touch_arrays, block.bar_ticks = {}, {}, {}  # from the quotes: again after a crash
        for venue, symbol in self.pairs:
            base, _, quote = symbol.partition("/")
            bi = self.latent.index(base)
            fair = logp[:, bi].copy()
            ratio = lat.vol_ratio[:, bi]
            overlay = overlays.get(base)
            if quote in self.latent.assets:
                qi = self.latent.index(quote)
                fair -= logp[:, qi]
                ratio = 0.5 * (ratio + lat.vol_ratio[:, qi])
                if quote in overlays:
                    overlay = (overlay if overlay is not None else 0.0) - overlays[quote]
            move = None
            if overlay is not None:
                grid = np.asarray(overlay)[tail:].reshape(-1, self.spm)
                move = grid.max(axis=1) - grid.min(axis=1)
            block.quotes[(venue, symbol)] = derive(
                self._venue_cfg[venue], cfg.instruments[symbol], block.raws[(venue, symbol)],
                fair, tail, self.step_s, ratio, lat.volume[:, bi], move, self.spm,
            )

    def _point(self, venue: str, symbol: str, step: int) -> QuotePoint:
        block = self._block(step // self.block_steps)
        q = block.quotes[(venue, symbol)]
        i = step % self.block_steps
        return QuotePoint(
            step=step, ts=self._step_time(step), mid=float(q.mid[i]),
            half_spread=float(q.half_spread[i]), bid_size=float(q.bid_size[i]),
            ask_size=float(q.ask_size[i]),
        )

    # -- moving the market ----------------------------------------------------------------
    def advance(self, to: datetime) -> list[Bar]:
        """Move to `to`; return the 1-minute bars that closed in (previous now, to]."""
        bars: list[Bar] = []
        self._move(to, lambda b, block, lo, hi: bars.extend(self._bars(b, block, lo, hi)))
        return bars

    def advance_arrays(self, to: datetime) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
        """`advance`, its bars as arrays per (venue, symbol): open times (microseconds since
        the epoch) and (n, 5) OHLCV floats, each the float of the Bar's Decimal
        (`bars.block_arrays`): what research reads, without the Bar messages."""
        parts: dict[tuple[str, str], list] = {pair: [] for pair in self.pairs}

        def collect(b: int, block: _Block, lo: int, hi: int) -> None:
            first_open = self.origin + timedelta(minutes=b * BLOCK_MINUTES + lo)
            got = block_arrays(self.pairs, block.quotes, self._grids, self.schedule, lo, hi, first_open,
                               block.bar_ticks)
            for pair, arrays in got.items():
                parts[pair].append(arrays)

        self._move(to, collect)
        return {pair: (np.concatenate([t for t, _ in got]) if got else np.zeros(0, dtype=np.int64),
                       np.concatenate([r for _, r in got]) if got else np.zeros((0, 5)))
                for pair, got in parts.items()}

    def _move(self, to: datetime, collect) -> None:
        """Move to `to`, handing `collect(block index, block, lo, hi)` each block's minutes
        [lo, hi) that closed on the way."""
        to_s, now_s = seconds(to), self.now.timestamp()
        if to_s < now_s:
            raise ValueError(f"cannot move the market back from {self.now} to {to}")
        k_old, k_new = self._step, self._step_at(to_s)
        m_lo = math.floor((now_s - self._origin_s) / 60.0 + _EPS)
        m_hi = math.floor((to_s - self._origin_s) / 60.0 + _EPS)
        for b in range(k_old // self.block_steps, k_new // self.block_steps + 1):
            block = self._block(b)
            lo = max(m_lo - b * BLOCK_MINUTES, 0)
            hi = min(m_hi - b * BLOCK_MINUTES, BLOCK_MINUTES)
            collect(b, block, lo, hi)
            first, last = max(k_old + 1, b * self.block_steps), min(k_new, (b + 1) * self.block_steps - 1)
            if last >= first:
                self._capture_holds(first, last)
                self._count_updates(first, last)
        self._step = k_new
        self.now = to.astimezone(UTC)
        self._books.clear()
        self._tops.clear()

    def _bars(self, b: int, block: _Block, lo: int, hi: int) -> list[Bar]:
        first_open = self.origin + timedelta(minutes=b * BLOCK_MINUTES + lo)
        return block_bars(self.pairs, block.quotes, self._grids, self.schedule, lo, hi, first_open,
                          block.bar_ticks)

    def _count_updates(self, first: int, last: int) -> None:
        times = self._origin_s + np.arange(first, last + 1) * self.step_s
        for venue in self.venues:
            live = self.schedule.live_steps(venue, times)
            self._updates += live * len(self.config.symbols_of(venue))

    def _capture_holds(self, first: int, last: int) -> None:
        keep = []
        for venue, window, hold in self._pending_holds:
            if hold <= last:
                at = max(hold, first - 1)
                self._held[(venue, window)] = {
                    s: self._point(venue, s, at) for s in self.config.symbols_of(venue)
                }
            else:
                keep.append((venue, window, hold))
        self._pending_holds = keep

    def updates_since_last_call(self) -> int:
        """Book updates published (per venue x symbol x grid step) since the last call."""
        count, self._updates = self._updates, 0
        return count

    # -- reading the market -----------------------------------------------------------------
    def _held_point(self, venue: str, symbol: str) -> QuotePoint | None:
        """The quote a stale venue still shows (None: the current step's); raises for an
        unknown venue or symbol and a venue in an outage."""
        self._known(venue)
        if (venue, symbol) not in self._pair_proc:
            raise KeyError(f"{venue} does not list {symbol}")
        now_s = self.now.timestamp()
        if self.schedule.is_out(venue, now_s):
            raise ExchangeUnavailable(f"{venue} is unavailable (simulated outage)")
        window = self.schedule.stale_window(venue, now_s)
        if window is not None and (venue, window) in self._held:
            return self._held[(venue, window)][symbol]
        return None

    def _current(self, venue: str, symbol: str) -> QuotePoint:
        held = self._held_point(venue, symbol)
        return held if held is not None else self._point(venue, symbol, self._step)

    def top(self, venue: str, symbol: str) -> BookTop:
        """The touch now, as `book().top()` would give it, without building the book: from
        the block's touches (`depth.touches`, all its steps at once) unless the venue shows
        a held (stale) book."""
        held = self._held_point(venue, symbol)
        step = self._step if held is None else held.step
        key = (venue, symbol, step)
        top = self._tops.get(key)
        if top is None:
            price, lot = self._grids[symbol]
            if held is not None:
                top = self._tops[key] = book_top(venue, symbol, held, price, lot)
                return top
            block = self._block(step // self.block_steps)
            ticks = block.touches.get((venue, symbol))
            if ticks is None:
                ticks = block.touches[(venue, symbol)] = self._touch_array(block, venue, symbol).tolist()
            bid, ask, bid_lots, ask_lots = ticks[step % self.block_steps]
            top = self._tops[key] = top_of(venue, symbol, self._step_time(step), bid, ask, bid_lots,
                                           ask_lots, price, lot)
        return top

    def _touch_array(self, block: _Block, venue: str, symbol: str) -> np.ndarray:
        """`depth.touches` of the block's steps for one book (computed once per block)."""
        arr = block.touch_arrays.get((venue, symbol))
        if arr is None:
            price, lot = self._grids[symbol]
            q = block.quotes[(venue, symbol)]
            arr = block.touch_arrays[(venue, symbol)] = touches(
                q.mid, q.half_spread, q.bid_size, q.ask_size, price, lot)
        return arr

    def touch_prices(self, first: datetime, count: int) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] | None:
        """The bid and ask of every book (floats: the ticks times the tick size) at the `count`
        grid steps from `first` on, as `top` will give them when the market is advanced there,
        for a float pre-screen of many steps at once (shared/execution/touch_screen.py). None
        (read them step by step) unless they are all plain touches: the steps in one block
        already generated (nothing new is drawn on the way) and no venue out or showing a
        held (stale) book during them."""
        k0 = self._step_at(seconds(first))
        k1 = k0 + count - 1
        b = k0 // self.block_steps
        block = self._blocks.get(b)
        if count <= 0 or block is None or k1 // self.block_steps != b or k0 <= self._step:
            return None
        lo, hi = self._step_time(k0).timestamp(), self._step_time(k1).timestamp() + self.step_s
        if not all(self.schedule.quiet(v, lo, hi) for v in self.venues):
            return None
        i0, out = k0 - b * self.block_steps, {}
        for venue, symbol in self.pairs:
            unit = self._grids[symbol][0].step  # float(tick size)
            ticks = self._touch_array(block, venue, symbol)[i0:i0 + count]
            out[(venue, symbol)] = (ticks[:, 0] * unit, ticks[:, 1] * unit)
        return out

    def book(self, venue: str, symbol: str) -> BookSnapshot:
        point = self._current(venue, symbol)
        key = (venue, symbol, point.step)
        snap = self._books.get(key)
        if snap is None:
            price, lot = self._grids[symbol]
            snap = book_snapshot(self.seed, venue, symbol, point, self._venue_cfg[venue].sim,
                                 price, lot)
            self._books[key] = snap
        return snap

    def latent_price(self, asset: str) -> float:
        """The venue-independent fair price of `asset` now (crash overlays included)."""
        block = self._block(self._step // self.block_steps)
        value = block.latent.logp[self._step % self.block_steps, self.latent.index(asset)]
        offset = self.schedule.overlay(asset, np.array([self._step_time(self._step).timestamp()]))
        return float(math.exp(value + (offset[0] if offset is not None else 0.0)))

    def dislocations(self, until: datetime | None = None) -> list[Dislocation]:
        """Every dislocation planted in the blocks generated so far (each block's are drawn
        when it is generated), started at or before `until` (default: now), oldest first."""
        until = self.now if until is None else until
        out = [d for proc in self._pair_proc.values() for d in proc.records(self.origin) if d.start <= until]
        return sorted(out, key=lambda d: (d.start, d.venue, d.symbol))

    def is_up(self, venue: str) -> bool:
        return venue in self._venue_cfg and not self.schedule.is_out(venue, self.now.timestamp())

    def latency_ms(self, venue: str) -> float:
        sim = self._venue_cfg[venue].sim
        jitter = float(stream(self.seed, self._step, "latency", venue).exponential())
        extra = self.schedule.extra_latency_ms(venue, self.now.timestamp())
        return sim.base_latency_ms + sim.latency_jitter_ms * jitter + extra

    # -- schedules ---------------------------------------------------------------------------
    def _known(self, venue: str) -> None:
        if venue not in self._venue_cfg:
            raise KeyError(f"unknown or disabled venue {venue!r}")

    def schedule_outage(self, venue: str, start: datetime, end: datetime) -> None:
        self._known(venue)
        self.schedule.add_outage(venue, start, end)

    def schedule_stale(self, venue: str, start: datetime, end: datetime) -> None:
        self._known(venue)
        window = self.schedule.add_stale(venue, start, end)
        hold = math.ceil((window.start - self._origin_s) / self.step_s - _EPS) - 1
        if hold <= self._step:
            self._held[(venue, window)] = {
                s: self._point(venue, s, self._step) for s in self.config.symbols_of(venue)
            }
        else:
            self._pending_holds.append((venue, window, hold))

    def schedule_latency_spike(self, venue: str, start: datetime, end: datetime, extra_ms: float) -> None:
        self._known(venue)
        self.schedule.add_spike(venue, start, end, extra_ms)

    def plant_crash(self, asset: str, at: datetime, drop_pct: float, recover_minutes: int = 0) -> None:
        """`asset` falls `drop_pct` over the minute from `at`, recovering linearly over
        `recover_minutes` (0 = it stays down)."""
        if asset not in self.latent.assets:
            raise KeyError(f"unknown asset {asset!r}")
        if seconds(at) < self.now.timestamp():
            raise ValueError(f"cannot plant a crash in the past ({at} < {self.now})")
        self.schedule.add_crash(asset, at, drop_pct, recover_minutes)
        for b, block in self._blocks.items():
            self._derive(b, block)
        self._books.clear()
        self._tops.clear()
