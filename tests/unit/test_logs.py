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


def test_http_libraries_stay_quiet_whatever_the_root_level():
    names = ("httpx", "httpcore", "urllib3", "requests", "telegram")
    saved = {n: logging.getLogger(n).level for n in names}
    try:
        for name in names:  # as in a fresh process
            logging.getLogger(name).setLevel(logging.NOTSET)
        logs.configure(level="DEBUG", stream=io.StringIO())
        assert logging.getLogger().isEnabledFor(logging.DEBUG)
        for name in names:  # httpx's INFO request line prints the whole URL
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert not logging.getLogger("urllib3").isEnabledFor(logging.WARNING)  # its retry line has the path
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_urls_are_logged_as_scheme_and_host_only():
    slack = "https://hooks.slack.com/services/T0/B0/s3cr3tHOOK"
    bot = "https://api.telegram.org/bot123:TOKENxyz/sendMessage"
    hook = "https://ops:PASSw0rd@example.org:8443/notify?token=QUERYtok"
    stream = io.StringIO()
    logs.configure(level="INFO", stream=stream)
    log = logging.getLogger("tradewinds.test")
    log.warning("posting to %s", slack, extra={"target": bot})
    try:
        raise ValueError(f"Client error '404 Not Found' for url '{hook}'")
    except ValueError:
        log.exception("send failed")
    logs.configure(pretty=True, level="INFO", stream=stream)
    log.warning("pretty %s", bot, extra={"target": hook})
    out = stream.getvalue()
    for secret in ("s3cr3tHOOK", "TOKENxyz", "PASSw0rd", "QUERYtok", "/services/", "ops:"):
        assert secret not in out, secret
    first, second = (json.loads(line) for line in out.splitlines()[:2])
    assert first["message"] == "posting to https://hooks.slack.com/…"
    assert first["target"] == "https://api.telegram.org/…"
    assert "for url 'https://example.org:8443/…'" in second["exception"]
    assert out.splitlines()[2] == "WARNING  tradewinds.test: pretty https://api.telegram.org/… " \
                                  "target=https://example.org:8443/…"
    assert logs.scrub_urls("emulator at http://localhost:8085 is up") == "emulator at http://localhost:8085 is up"


def test_urls_and_secret_fields_are_scrubbed_at_every_depth_of_the_extra_fields():
    """A request URL inside a list or dict field (reconciliation logs its errors as a list) must
    not leak a bot token; nor a secret-named key inside a nested dict. (Found by review.)"""
    import io
    import logging

    from shared.logs import CloudJsonFormatter, PrettyFormatter

    url = "https://api.telegram.org/bot123456:AAHsecretTOKEN/sendMessage"
    for formatter in (CloudJsonFormatter(), PrettyFormatter()):
        buf = io.StringIO()
        handler = logging.StreamHandler(buf)
        handler.setFormatter(formatter)
        log = logging.getLogger(f"tw-test-nested-{type(formatter).__name__}")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.warning("reconciled", extra={"errors": [f"telegram: Client error for url '{url}'"],
                                         "detail": {"url": url, "nested": {"api_token": "SECRETVALUE9"}}})
        out = buf.getvalue()
        assert "AAHsecretTOKEN" not in out and "SECRETVALUE9" not in out, out
        assert "api.telegram.org" in out  # the host is kept: the line still says where
