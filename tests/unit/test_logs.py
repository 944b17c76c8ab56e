"""Structured logs: one JSON object per line in the Cloud Logging format, secrets redacted."""

import io
import json
import logging

import pytest

from shared import logs


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def emit(pretty=False, **extra):
    stream = io.StringIO()
    logs.configure(pretty=pretty, level="INFO", stream=stream)
    logging.getLogger("tradewinds.test").warning("order sent", extra=extra)
    return stream.getvalue()


def test_cloud_logging_fields_and_trace(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj")
    token = logs.bind_trace(logs.trace_from_header("abc123/1;o=1"))
    try:
        line = emit(venue="binance", qty="0.5")
    finally:
        logs._trace.reset(token)
    entry = json.loads(line)
    assert entry["severity"] == "WARNING" and entry["message"] == "order sent"
    assert entry["logging.googleapis.com/trace"] == "projects/proj/traces/abc123"
    assert entry["venue"] == "binance" and entry["qty"] == "0.5"
    assert len(line.strip().splitlines()) == 1


def test_secrets_never_reach_a_log_line():
    line = emit(api_key="AKIA-123", telegram_token="999:XYZ", authorization="Bearer t0k")
    for secret in ("AKIA-123", "999:XYZ", "t0k"):
        assert secret not in line
    assert json.loads(line)["api_key"] == "[redacted]"
    pretty = emit(pretty=True, admin_token="s3cr3t")
    assert "s3cr3t" not in pretty and pretty.startswith("WARNING")
