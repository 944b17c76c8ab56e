"""Named crash points for the fault-injection suite (`tests/chaos`).

`crashpoint(name)` does nothing unless the environment variable `TW_CRASH_AT` names that
point; then the process kills itself with SIGKILL, by its own pid: no `finally`, no flush,
no transaction rollback in Python, exactly as when the machine or the container dies.
`TW_CRASH_AT=after_send` dies the first time the point is reached, `after_send:3` the third.

The points (where they are called):
- `before_send`: the order's claim is durable, the venue not called yet (`shared.execution.claims`);
- `after_send`: the venue answered, nothing of it committed to our store yet (same place);
- `during_hedge`: an arbitrage hedge order answered by the venue, nothing recorded (same place);
- `after_commit`: a manual order's transaction committed, its messages not published
  (`runtime.executor.service`); the bus consumer's step commits and publishes in one call;
- `mid_batch`: the executor's bus consumer about to run its Nth delivery (`runtime.executor.consumer`).
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "TW_CRASH_AT"
POINTS = ("before_send", "after_send", "during_hedge", "after_commit", "mid_batch")
_counts: dict[str, int] = {}
_lock = threading.Lock()


def armed() -> tuple[str, int] | None:
    """(point, nth) from the environment, or None."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    point, _, nth = spec.partition(":")
    return point, int(nth or 1)


def crashpoint(name: str) -> None:
    target = armed()
    if target is None or target[0] != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = _counts[name] == target[1]
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
