"""Structured logging: one JSON object per line in the Cloud Logging format.

`severity`, `message`, `logging.googleapis.com/trace` (when a trace id is bound) and any
extra fields. `--pretty` switches to a human format. Values that look like secrets are
never logged: pass them through `redact()` or keep them out of `extra`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)
_SECRET_KEYS = ("token", "secret", "password", "api_key", "apikey", "authorization", "private_key")
_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def bind_trace(trace_id: str | None) -> contextvars.Token:
    return _trace.set(trace_id)


def redact(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("[redacted]" if any(s in k.lower() for s in _SECRET_KEYS) else v)
        for k, v in fields.items()
    }


class CloudJsonFormatter(logging.Formatter):
    def __init__(self, project: str | None = None):
        super().__init__()
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _severity(record.levelno),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        extra = {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}
        entry.update(redact(extra))
        trace = _trace.get()
        if trace:
            key = "logging.googleapis.com/trace"
            entry[key] = f"projects/{self.project}/traces/{trace}" if self.project else trace
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PrettyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}
        tail = " ".join(f"{k}={v}" for k, v in redact(extra).items())
        return f"{record.levelname:<8} {record.name}: {record.getMessage()} {tail}".rstrip()


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
    handler = logging.StreamHandler(stream or _Stdout())
    handler.setFormatter(PrettyFormatter() if pretty else CloudJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
