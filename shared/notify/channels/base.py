"""The Channel port and the mapping of HTTP outcomes to our error taxonomy.

A channel delivers one Notification to one target (a Telegram chat, a Slack webhook…)
and reports failure only by raising:
- RateLimited (with retry_after when the service said how long to wait),
- TransientError (timeout, connection refused, 5xx) — worth another attempt,
- PermanentError (4xx, bad payload) — this channel will not take it; fall back.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx

from shared.contracts import Notification
from shared.errors import PermanentError, RateLimited, TransientError
from shared.notify.config import RateLimit


class Channel(Protocol):
    name: str
    timeout_s: float
    rate_limit: RateLimit | None
    """Pacing per target, or None when the service needs none."""

    def targets(self) -> tuple[str, ...]:
        """Delivery targets (chat ids); ("",) for a channel with a single destination."""
        ...

    def send(self, notification: Notification, target: str, timeout: float) -> None: ...


def post_json(client: httpx.Client, url: str, payload: dict[str, Any], timeout: float,
              what: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST and map transport failures; the URL (it may hold a token) is never in messages."""
    try:
        return client.post(url, json=payload, timeout=timeout, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out after {timeout:.1f}s") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {_no_url(exc)}") from exc


def raise_for_status(response: httpx.Response, what: str) -> None:
    """2xx passes; 429 → RateLimited; 5xx and 408 → TransientError; other 4xx → Permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = response.text[:200]
    if status == 429:
        raise RateLimited(f"{what}: 429 {detail}", retry_after=retry_after(response))
    if status >= 500 or status == 408:
        raise TransientError(f"{what}: HTTP {status} {detail}")
    raise PermanentError(f"{what}: HTTP {status} {detail}")


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait: Telegram's parameters.retry_after, else the Retry-After header."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        value = (body.get("parameters") or {}).get("retry_after")
        if isinstance(value, (int, float)):
            return float(value)
    header = response.headers.get("retry-after")
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _no_url(exc: Exception) -> str:
    text = str(exc)
    return text if "http" not in text else "transport error"
