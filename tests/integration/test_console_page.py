"""The console page as served (runtime/executor/console.py) and `tradewinds console`'s
read-only app (infra/cli/console.py), through FastAPI's TestClient: the security headers,
no inline script or style, only the shipped assets, cache headers; every write refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from infra.cli.console import READ_ONLY_MESSAGE, ReadOnlyStore, build_console_app, session_secrets
from infra.cli.console import app as console_cli
from runtime.executor.console import ASSETS, STATIC_DIR
from shared.adapters.local.secrets import EnvFileSecrets
from shared.clock import SimulatedClock

pytestmark = pytest.mark.timeout(30)
ADMIN, READ = "admin-" + "z" * 30, "read-" + "w" * 30
T0 = datetime(2026, 1, 5, 1, tzinfo=UTC)


def client(store, read_only: bool) -> TestClient:
    secrets = EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ},
                             secrets_dir="/nonexistent")
    return TestClient(build_console_app(store, secrets, SimulatedClock(T0), read_only=read_only),
                      raise_server_exceptions=False)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_page_has_a_strict_policy_and_no_inline_script_or_style(store):
    page = client(store, read_only=True).get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-cache"
    html = page.text
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in s for s in scripts)  # no inline script
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert all(f"/console/static/{name}?v=" in html for name in ASSETS)  # every asset, versioned


def test_only_the_shipped_assets_are_served_with_cache_headers(store):
    web = client(store, read_only=True)
    html = web.get("/console").text
    for name, media_type in ASSETS.items():
        versioned = re.search(rf'/console/static/{re.escape(name)}\?v=[0-9a-f]+', html).group(0)
        answer = web.get(versioned)
        assert answer.status_code == 200 and answer.headers["content-type"] == media_type
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.content == (STATIC_DIR / name).read_bytes()
        assert "unsafe" not in answer.headers["content-security-policy"]
        again = web.get(versioned, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert web.get(f"/console/static/{name}").headers["cache-control"] == "no-cache"  # unversioned
    for path in ("/console/static/index.html", "/console/static/..%2F..%2Fconsole.py", "/console/static/x.js"):
        assert web.get(path).status_code == 404


def test_the_scripts_never_store_the_token_beyond_the_tab_nor_write_html():
    code = "\n".join((STATIC_DIR / name).read_text() for name in ASSETS if name.endswith(".js"))
    assert "localStorage" not in code and "document.cookie" not in code
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "eval(" not in code
    assert "console.log" not in code
    assert "sessionStorage.setItem(TOKEN_KEY" in code


def test_the_replay_console_refuses_every_write_and_still_reads(store):
    store.put("state", "risk", {"halted": False})
    web = client(ReadOnlyStore(store), read_only=True)
    for method, path, body in (("POST", "/v1/halt", {"reason": "stop now", "operator": "alice"}),
                               ("PUT", "/v1/settings", {"risk": {}, "reason": "xyz", "expected_version": 0}),
                               ("POST", "/v1/dlq/requeue", {}), ("DELETE", "/v1/pnl", None)):
        answer = web.request(method, path, json=body, headers=auth(ADMIN))
        assert (answer.status_code, answer.json()) == (403, {"error": READ_ONLY_MESSAGE})
    assert store.get("state", "risk") == {"halted": False} and store.query("audit") == []
    assert web.get("/v1/pnl", headers=auth(READ)).status_code == 200
    assert web.get("/v1/pnl").status_code == 401  # reading still needs a token
    assert web.get("/console").status_code == 200


def test_the_read_only_store_refuses_writes_in_and_out_of_transactions(store):
    guarded = ReadOnlyStore(store)
    with pytest.raises(PermissionError):
        guarded.put("audit", "x", {})
    with pytest.raises(PermissionError), guarded.transaction() as tx:
        tx.put("audit", "x", {})
    assert store.query("audit") == []


def test_a_writable_console_acts(store):
    answer = client(store, read_only=False).post("/v1/halt", json={"reason": "stop now", "operator": "alice"},
                                                  headers=auth(ADMIN))
    assert answer.status_code == 200 and answer.json()["halted"] is True
    assert [d["actor"] for _, d in store.query("audit")] == ["api:admin:alice"]


def test_a_session_token_is_made_only_when_none_is_configured():
    configured, made = session_secrets(EnvFileSecrets(environ={"TW_SECRET_READ_TOKEN": READ},
                                                      secrets_dir="/nonexistent"))
    assert made is None and configured.get("read-token") == READ
    fresh, made = session_secrets(EnvFileSecrets(environ={}, secrets_dir="/nonexistent"))
    assert len(made) >= 32 and fresh.get("read-token") == made


def test_the_command_refuses_an_unknown_run(tmp_path):
    result = CliRunner().invoke(console_cli, ["nope", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no state at" in result.output
