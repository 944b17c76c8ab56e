"""Structured logging: one JSON object per line in the Cloud Logging format.

`severity`, `message`, `logging.googleapis.com/trace` (when a trace id is bound) and any
extra fields. `--pretty` switches to a human format. Values that look like secrets are
never logged: pass them through `redact()` or keep them out of `extra`.

Secrets also live in URLs (a Slack webhook, a Telegram bot token in the path, a token in a
query string or a password before the host), and HTTP libraries log URLs: httpx prints
every request at INFO, urllib3 its retries at WARNING. So `configure()` pins the loggers in
`QUIET_LOGGERS` to their level whatever the root level (`quiet_libraries()`), and both
formatters print any URL as scheme and host only (`scrub_urls()`), in the message, in the
extra fields and in a traceback.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)
_SECRET_KEYS = ("token", "secret", "password", "api_key", "apikey", "authorization", "private_key")
_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# libraries that log request URLs or headers, and the lowest level they may log at
QUIET_LOGGERS: dict[str, int] = {
    "httpx": logging.WARNING, "httpcore": logging.WARNING, "hpack": logging.WARNING,
    "h11": logging.WARNING, "h2": logging.WARNING, "urllib3": logging.ERROR,
    "requests": logging.WARNING, "requests_oauthlib": logging.WARNING, "telegram": logging.WARNING,
    "aiohttp": logging.WARNING, "websockets": logging.WARNING, "ccxt": logging.WARNING,
    "google.auth": logging.WARNING, "google.api_core": logging.WARNING,
    "google.cloud": logging.WARNING, "grpc": logging.WARNING, "mail.log": logging.WARNING,
}
# scheme://[userinfo@]host[:port] then path/query/fragment: only scheme and host are kept
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{1,15}://)(?:[^/\s@'\"<>]*@)?([^/\s?#'\"<>]+)([/?#][^\s'\"<>]*)?")


def bind_trace(trace_id: str | None) -> contextvars.Token:
    return _trace.set(trace_id)


def redact(fields: dict[str, Any], _depth: int = 0) -> dict[str, Any]:
    """Secret-named fields redacted, at every depth of nested dicts and lists."""
    return {
        k: ("[redacted]" if any(s in str(k).lower() for s in _SECRET_KEYS) else _redact_value(v, _depth + 1))
        for k, v in fields.items()
    }


def _redact_value(value: Any, depth: int) -> Any:
    if depth > 8:
        return "[nested too deep]"
    if isinstance(value, dict):
        return redact(value, depth)
    if isinstance(value, (list, tuple, set)):
        return [_redact_value(v, depth + 1) for v in value]
    return value


def scrub_urls(text: str) -> str:
    """Every URL in `text` reduced to scheme and host: `https://hooks.slack.com/…`."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: m.group(1) + m.group(2) + ("/…" if m.group(3) else ""), text)


def _scrub(value: Any, depth: int = 0) -> Any:
    """URLs reduced to scheme and host in strings at every depth (an error list with a
    request URL in it, a dict of answers...)."""
    if isinstance(value, str):
        return scrub_urls(value)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_scrub(v, depth + 1) for v in value]
    return value


def quiet_libraries() -> None:
    """Pin the HTTP libraries' loggers (`QUIET_LOGGERS`) whatever the root level is."""
    for name, level in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)


class CloudJsonFormatter(logging.Formatter):
    def __init__(self, project: str | None = None):
        super().__init__()
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _severity(record.levelno),
            "message": scrub_urls(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        extra = {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}
        entry.update({k: _scrub(v) for k, v in redact(extra).items()})
        trace = _trace.get()
        if trace:
            key = "logging.googleapis.com/trace"
            entry[key] = f"projects/{self.project}/traces/{trace}" if self.project else trace
        if record.exc_info:
            entry["exception"] = scrub_urls(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class PrettyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}
        tail = " ".join(f"{k}={_scrub(v)}" for k, v in redact(extra).items())
        line = f"{record.levelname:<8} {record.name}: {record.getMessage()} {tail}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub_urls(line)


def _severity(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


def trace_from_header(header: str | None) -> str | None:
    """`X-Cloud-Trace-Context: TRACE_ID/SPAN;o=1` → TRACE_ID."""
    if not header:
        return None
    return header.split("/", 1)[0] or None


class _Stdout:
    """Whatever sys.stdout is at write time (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def configure(pretty: bool = False, level: str | int = "INFO", stream=None) -> None:
    quiet_libraries()
    handler = logging.StreamHandler(stream or _Stdout())
    handler.setFormatter(PrettyFormatter() if pretty else CloudJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
