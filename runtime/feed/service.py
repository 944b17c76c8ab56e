"""FeedService: venues in, closed bars and book tops out, outages noticed and repaired.

Each `step(now)` (driven by the app's loop, or by a test with a simulated clock):
1. (re)connects venues that are new, down or stale, with exponential backoff + jitter;
2. polls each connected venue; any new bar or changed book counts as an update;
3. a venue silent for `stale_after_s` is marked stale, reconnected, and one warning
   Notification (kind="outage", dedupe_key per venue) goes to `notifications`;
   recovery sends an info notification;
4. bars (of traded symbols and of the reference symbols kept for marks, e.g. BNB/USDT)
   are published to `market-bars` (ordering key = symbol) strictly in open-time
   order per venue/symbol: an older or repeated bar is suppressed, a gap is backfilled
   from the venue's history first; the envelope id is derived from the bar key, so a
   republished bar is the same message;
5. book tops go to `book-tops` at most once per `book_top_interval_s` per venue/symbol.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from runtime.feed.config import FeedConfig
from runtime.feed.sources import MINUTE, FeedSource
from shared.contracts import Bar, BookSnapshot, BookTop, Notification, Severity, wrap
from shared.errors import TransientError
from shared.ports import Bus, Clock

log = logging.getLogger("tradewinds.feed")
BARS_TOPIC, TOPS_TOPIC, NOTIFY_TOPIC = "market-bars", "book-tops", "notifications"


def bar_envelope_id(bar: Bar) -> str:
    return hashlib.sha256(f"bar/{bar.key}".encode()).hexdigest()[:32]


@dataclass
class VenueState:
    venue: str
    status: str = "connecting"  # connecting, up, stale, down
    connected: bool = False
    ever_connected: bool = False
    last_update: datetime | None = None
    silence_since: datetime | None = None  # start of the current silence window
    reconnects: int = 0
    failures: int = 0  # consecutive failed (re)connects or polls
    next_attempt: datetime | None = None
    outage_since: datetime | None = None
    last_error: str = ""


@dataclass
class FeedCounters:
    bars_published: int = 0
    bars_backfilled: int = 0
    duplicates_suppressed: int = 0
    tops_published: int = 0
    notifications: int = 0


@dataclass
class _Track:
    last_open: datetime | None = None
    pending: dict[datetime, Bar] = field(default_factory=dict)


class FeedService:
    def __init__(self, sources: list[FeedSource], bus: Bus, clock: Clock, config: FeedConfig,
                 rand: Callable[[], float] = random.random):
        self.sources = {s.venue: s for s in sources}
        self.bus, self.clock, self.config = bus, clock, config
        self._rand = rand
        self.started_at = clock.now()
        self.venues = {v: VenueState(v) for v in self.sources}
        self.counters = FeedCounters()
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._last_top: dict[tuple[str, str], datetime] = {}
        self.books: dict[tuple[str, str], BookSnapshot] = {}

    # -- the loop body -----------------------------------------------------------------
    def step(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        for venue, source in self.sources.items():
            state = self.venues[venue]
            if not state.connected and not self._connect(source, state, now):
                continue
            self._poll(source, state, now)
            self._check_stale(state, now)

    def _connect(self, source: FeedSource, state: VenueState, now: datetime) -> bool:
        if state.next_attempt and now < state.next_attempt:
            return False
        if state.ever_connected:
            state.reconnects += 1
        try:
            source.close()
            source.connect()
        except TransientError as exc:
            self._lost(state, now, "down", f"{type(exc).__name__}: {exc}")
            return False
        state.connected = state.ever_connected = True
        state.silence_since = now
        log.info("venue connected", extra={"venue": state.venue, "reconnects": state.reconnects})
        return True

    def _poll(self, source: FeedSource, state: VenueState, now: datetime) -> None:
        try:
            update = source.poll(now)
        except TransientError as exc:
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return
        if not update.fresh:
            return
        if state.outage_since is not None:
            self._recovered(state, now)
        state.status, state.failures, state.next_attempt = "up", 0, None
        state.last_update = state.silence_since = now
        for book in update.books:
            self._book(book, now)
        for bar in update.bars:
            self._track(bar.venue, bar.symbol).pending[bar.open_time] = bar
        for symbol in source.bar_symbols:  # traded and reference (marks only) symbols
            self._flush(source, symbol, now)

    def _check_stale(self, state: VenueState, now: datetime) -> None:
        silent = (now - (state.silence_since or now)).total_seconds()
        if silent > self.config.stale_after_s:
            state.connected = False  # reconnect on a next step, after the backoff
            self._lost(state, now, "stale", f"no update for {silent:.1f}s")

    def _lost(self, state: VenueState, now: datetime, status: str, reason: str) -> None:
        """A connect failed or the venue went silent: back off, and tell once per outage."""
        state.status = status
        state.failures += 1
        state.last_error = reason[:300]
        ceiling = min(self.config.reconnect_max_s,
                      self.config.reconnect_base_s * 2 ** (state.failures - 1))
        state.next_attempt = now + timedelta(seconds=ceiling / 2 + self._rand() * ceiling / 2)
        if state.outage_since is not None:
            return
        state.outage_since = now
        self._notify(Notification(
            kind="outage", severity=Severity.WARNING, title=f"{state.venue} feed lost",
            text=f"No market data from {state.venue}; reconnecting. {reason}",
            fields=(("venue", state.venue), ("since", now.isoformat())),
            dedupe_key=f"feed-outage:{state.venue}", created_at=now,
        ), tag=f"outage:{state.venue}:{now.isoformat()}")
        log.warning("venue feed lost", extra={"venue": state.venue, "reason": reason})

    def _recovered(self, state: VenueState, now: datetime) -> None:
        lasted = (now - state.outage_since).total_seconds()
        self._notify(Notification(
            kind="outage", severity=Severity.INFO, title=f"{state.venue} feed recovered",
            text=f"{state.venue} is back after {lasted:.0f}s ({state.reconnects} reconnects).",
            fields=(("venue", state.venue), ("outage_s", f"{lasted:.0f}")),
            dedupe_key=f"feed-recovered:{state.venue}", created_at=now,
        ), tag=f"recovered:{state.venue}:{now.isoformat()}")
        log.info("venue feed recovered", extra={"venue": state.venue, "outage_s": lasted})
        state.outage_since = None

    def _notify(self, note: Notification, tag: str) -> None:
        envelope = wrap(note, ts=note.created_at, id=hashlib.sha256(tag.encode()).hexdigest()[:32])
        self.bus.publish(NOTIFY_TOPIC, envelope)
        self.counters.notifications += 1

    # -- bars ----------------------------------------------------------------------------
    def _track(self, venue: str, symbol: str) -> _Track:
        return self._tracks.setdefault((venue, symbol), _Track())

    def _flush(self, source: FeedSource, symbol: str, now: datetime) -> None:
        track = self._track(source.venue, symbol)
        for open_time in sorted(track.pending):
            bar = track.pending[open_time]
            if track.last_open is not None and open_time <= track.last_open:
                self.counters.duplicates_suppressed += 1
                del track.pending[open_time]
                continue
            gap = track.last_open is not None and open_time > track.last_open + MINUTE
            if gap and not self._backfill(source, symbol, track, open_time, now):
                return  # keep the rest pending; order matters more than latency
            self._publish_bar(bar, now)
            track.last_open = open_time
            del track.pending[open_time]

    def _backfill(self, source: FeedSource, symbol: str, track: _Track, upto: datetime,
                  now: datetime) -> bool:
        start = max(track.last_open + MINUTE,
                    upto - MINUTE * self.config.max_backfill_minutes)
        try:
            missing = source.history(symbol, start, upto)
        except TransientError as exc:
            log.warning("backfill failed, will retry", extra={
                "venue": source.venue, "symbol": symbol, "error": repr(exc)})
            return False
        for bar in missing:
            if bar.open_time > track.last_open and bar.open_time < upto:
                self._publish_bar(bar, now)
                track.last_open = bar.open_time
                self.counters.bars_backfilled += 1
        if track.last_open + MINUTE < upto:  # the venue has no bars there (it was down)
            log.warning("gap not in venue history", extra={
                "venue": source.venue, "symbol": symbol, "from": track.last_open + MINUTE,
                "to": upto})
        return True

    def _publish_bar(self, bar: Bar, now: datetime) -> None:
        envelope = wrap(bar, ts=now, id=bar_envelope_id(bar))
        self.bus.publish(BARS_TOPIC, envelope, ordering_key=bar.symbol)
        self.counters.bars_published += 1

    # -- books ---------------------------------------------------------------------------
    def _book(self, book: BookSnapshot, now: datetime) -> None:
        key = (book.venue, book.symbol)
        self.books[key] = book
        if not book.bids or not book.asks:
            return
        last = self._last_top.get(key)
        if last is not None and (now - last).total_seconds() < self.config.book_top_interval_s:
            return
        top: BookTop = book.top()
        tag = f"top/{book.venue}:{book.symbol}:{top.ts.isoformat()}"
        self.bus.publish(TOPS_TOPIC, wrap(top, ts=now, id=hashlib.sha256(tag.encode()).hexdigest()[:32]),
                         ordering_key=book.symbol)
        self._last_top[key] = now
        self.counters.tops_published += 1

    # -- status --------------------------------------------------------------------------
    def health(self) -> dict:
        now = self.clock.now()
        venues = {}
        for name, st in self.venues.items():
            age = (now - st.last_update).total_seconds() if st.last_update else None
            venues[name] = {
                "state": st.status, "connected": st.connected,
                "last_update_age_s": None if age is None else round(age, 3),
                "reconnects": st.reconnects, "failures": st.failures,
                "outage_since": st.outage_since.isoformat() if st.outage_since else None,
                "last_error": st.last_error,
            }
        return {
            "status": "ok" if any(v.status == "up" for v in self.venues.values()) else "degraded",
            "service": "feed", "version": self.config.version, "time": now.isoformat(),
            "uptime_s": round((now - self.started_at).total_seconds(), 3),
            "venues": venues, "counters": vars(self.counters).copy(),
        }

    def ready(self) -> bool:
        """Ready once any venue is delivering data."""
        return any(v.status == "up" for v in self.venues.values())


__all__ = ["FeedService", "VenueState", "bar_envelope_id"]
