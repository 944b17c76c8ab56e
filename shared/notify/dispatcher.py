"""Deliver a Notification: route by severity, de-duplicate, pace, retry, fall back.

1. De-duplication: a `dedupe_key` delivered less than `dedupe_window_s` ago is skipped.
   The record lives in the Store (collection "notify_dedupe"), written only after a
   delivery succeeded, so a redelivered message that failed before is sent again.
2. The route for the severity lists channels in fallback order. Each channel gets retries
   with exponential backoff on transient errors (timeouts, refused connections, 5xx,
   429 honouring retry_after); a permanent error, a 429 asking for more than
   `max_retry_after_s`, or exhausted retries fall back to the next channel.
3. Pacing per target (Telegram chat) via RateLimiter; a full queue drops non-critical
   messages (log line + `stats["dropped"]`) and never critical ones.
4. Time bound: a dispatch never takes longer than `max_block_s`; each channel may use at
   most an equal share of what is left, so a dead channel cannot starve its fallbacks.
5. When every channel failed: TransientError, so the bus redelivers and, after its
   maximum attempts, dead-letters.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from shared.contracts import Notification, Severity
from shared.errors import PermanentError, RateLimited, TransientError
from shared.notify.channels.base import Channel
from shared.notify.config import NotifyConfig
from shared.notify.ratelimit import RateLimiter
from shared.ports import Clock, Store, Transaction

log = logging.getLogger("tradewinds.notify")
RECENT = "notifications_recent"
DEDUPE = "notify_dedupe"
Outcome = Literal["sent", "dropped", "failed"]


@dataclass
class DispatchResult:
    status: Literal["sent", "duplicate", "dropped", "unrouted"]
    channel: str | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


def dedupe_id(key: str) -> str:
    """A document id safe for Firestore (no '/', bounded length) for any dedupe key."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class Dispatcher:
    def __init__(self, config: NotifyConfig, channels: Mapping[str, Channel], store: Store,
                 clock: Clock, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self.config = config
        self.channels = dict(channels)
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.limiter = RateLimiter(clock)
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    # -- public ---------------------------------------------------------------------------
    def dispatch(self, n: Notification, tx: Transaction | None = None) -> DispatchResult:
        """Deliver `n`; with `tx`, the dedupe record is read and written in it."""
        if self._is_duplicate(n, tx):
            self._count("duplicate")
            log.info("duplicate notification skipped", extra={"dedupe_key": n.dedupe_key})
            return DispatchResult("duplicate")
        route = [c for c in self.config.route(n.severity) if c in self.channels]
        if not route:
            self._count("unrouted")
            log.warning("no channel configured for severity",
                        extra={"severity": n.severity.value, "dedupe_key": n.dedupe_key})
            return DispatchResult("unrouted")
        deadline = self.monotonic() + self.config.max_block_s
        result = DispatchResult("dropped")
        for i, name in enumerate(route):
            share = (deadline - self.monotonic()) / (len(route) - i)
            outcome = self._deliver(self.channels[name], n, self.monotonic() + share, result)
            if outcome == "sent":
                result.status, result.channel = "sent", name
                self._count("sent")
                self._record(n, name, tx)
                self._mirror(n, exclude=name)
                return result
            if outcome == "dropped":
                return result
            if i + 1 < len(route):
                self._count("fallbacks")
                log.warning("channel failed, falling back", extra={
                    "channel": name, "next": route[i + 1], "dedupe_key": n.dedupe_key,
                    "error": result.errors[-1] if result.errors else ""})
        self._count("undelivered")
        raise TransientError(
            f"notification {n.dedupe_key!r} undelivered on {route}: " + "; ".join(result.errors))

    # -- one channel --------------------------------------------------------------------
    def _deliver(self, channel: Channel, n: Notification, deadline: float,
                 result: DispatchResult) -> Outcome:
        outcomes = [self._deliver_to(channel, t, n, deadline, result) for t in channel.targets()]
        if "failed" in outcomes:
            return "failed"
        return "sent" if "sent" in outcomes else "dropped"

    def _deliver_to(self, channel: Channel, target: str, n: Notification, deadline: float,
                    result: DispatchResult) -> Outcome:
        policy = self.config.retry
        key = f"{channel.name}:{target}"
        critical = n.severity is Severity.CRITICAL
        need_slot = channel.rate_limit is not None  # once per message, again after a 429
        for attempt in range(1, policy.attempts + 1):
            if need_slot and channel.rate_limit is not None:
                need_slot = False
                wait = self.limiter.reserve(key, channel.rate_limit, critical)
                if wait is None:
                    self._count("dropped")
                    log.warning("notification dropped: rate-limit queue full", extra={
                        "channel": channel.name, "target": target, "dedupe_key": n.dedupe_key,
                        "severity": n.severity.value, "dropped_total": self.stats["dropped"]})
                    return "dropped"
                if wait > deadline - self.monotonic():
                    result.errors.append(f"{channel.name}: pacing wait {wait:.1f}s exceeds bound")
                    return "failed"
                if wait > 0:
                    self.sleep(wait)
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                result.errors.append(f"{channel.name}: time bound reached")
                return "failed"
            result.attempts += 1
            try:
                channel.send(n, target, min(channel.timeout_s, remaining))
                return "sent"
            except RateLimited as exc:
                self._count("rate_limited")
                result.errors.append(f"{channel.name}: {exc}")
                if exc.retry_after is not None and exc.retry_after > policy.max_retry_after_s:
                    return "failed"
                delay = exc.retry_after if exc.retry_after is not None else policy.delay(attempt)
                if channel.rate_limit is not None:
                    self.limiter.push_back(key, delay)  # the next slot starts after it
                    need_slot, delay = True, 0.0
            except TransientError as exc:
                result.errors.append(f"{channel.name}: {exc}")
                delay = policy.delay(attempt)
            except PermanentError as exc:
                result.errors.append(f"{channel.name}: {exc}")
                return "failed"
            except Exception as exc:  # a bug in a channel must not lose the alert
                log.exception("channel raised unexpectedly", extra={"channel": channel.name})
                result.errors.append(f"{channel.name}: unexpected {type(exc).__name__}")
                return "failed"
            self._count("failed_attempts")
            if attempt == policy.attempts:
                break
            if delay >= deadline - self.monotonic():
                result.errors.append(f"{channel.name}: no time left to retry")
                return "failed"
            if delay > 0:
                self.sleep(delay)
        return "failed"

    def _mirror(self, n: Notification, exclude: str) -> None:
        for name in self.config.mirror:
            channel = self.channels.get(name)
            if channel is None or name == exclude:
                continue
            try:
                for target in channel.targets():
                    channel.send(n, target, channel.timeout_s)
            except Exception as exc:  # noqa: BLE001 - a mirror is best effort by definition
                log.warning("mirror channel failed", extra={"channel": name, "error": repr(exc)})

    # -- de-duplication -----------------------------------------------------------------
    def _is_duplicate(self, n: Notification, tx: Transaction | None) -> bool:
        if self.config.dedupe_window_s <= 0:
            return False
        doc = (tx or self.store).get(DEDUPE, dedupe_id(n.dedupe_key))
        if not doc or doc.get("dedupe_key") != n.dedupe_key:
            return False
        sent_at = datetime.fromisoformat(doc["sent_at"])
        return self.clock.now() - sent_at < timedelta(seconds=self.config.dedupe_window_s)

    def _record(self, n: Notification, channel: str, tx: Transaction | None) -> None:
        now = self.clock.now()
        (tx or self.store).put(DEDUPE, dedupe_id(n.dedupe_key), {
            "dedupe_key": n.dedupe_key, "kind": n.kind, "severity": n.severity.value,
            "channel": channel, "sent_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=self.config.dedupe_window_s)).isoformat(),
        })
        # what the console lists as recent notifications (kept a week, Firestore TTL on expires_at)
        (tx or self.store).put(RECENT, dedupe_id(n.dedupe_key), {
            "kind": n.kind, "severity": n.severity.value, "title": n.title, "text": n.text[:2000],
            "created_at": n.created_at.isoformat(), "channel": channel, "sent_at": now.isoformat(),
            "expires_at": (now + timedelta(days=7)).isoformat(),
        })
