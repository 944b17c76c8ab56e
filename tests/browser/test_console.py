"""The operator console in headless Chromium (Debian's `chromium` + `chromedriver`, driven by
selenium; nothing downloaded): a real uvicorn server over the store of a 1-hour replay (seed
14) with the executor's `/v1` routes, the console routes and the page.

Scenarios: a wrong token sees nothing; sign in and see the equity chart drawn from the
replay's points; halt and resume (the risk state changes, the audit names the operator); a
bad risk limit is refused with the server's message on the page, a good one makes a new
version; approve a recommended parameter version; requeue a dead letter. Screenshots of each
view go to reports/console/ (docs/console.png, in the README, is a copy of overview.png).

Skipped locally without /usr/bin/chromium; under CI=true a missing browser fails.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.browser import chrome

chrome.require()

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from infra.cli.console import build_console_app
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.adapters.local.secrets import EnvFileSecrets
from shared.clock import SimulatedClock
from shared.contracts import Command, Control, wrap

pytestmark = pytest.mark.timeout(30)
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "console"
ADMIN, READ = "admin-" + "k" * 30, "read-" + "q" * 30
JOB = "job-console-0001"
WAIT_S = 10


# -- the server over a replay ------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    pipeline = LocalPipeline(RunConfig(hours=1, seed=14, runs_dir=runs, run_id="console",
                                       config_dir=ROOT / "config"))
    pipeline.run()
    store = pipeline.store
    end = pipeline.clock.now()
    # what the replay does not make: a recommended optimizer job and a dead letter
    store.put("optimizer_jobs", JOB, {
        "job_id": JOB, "strategy": "breakout", "status": "recommended", "reason": "drawdown",
        "created_at": end.isoformat(), "current_params": {"lookback": 30.0, "buffer": 0.0004},
        "recommended_params": {"lookback": 45.0, "buffer": 0.0006},
        "recommended_report": {"sharpe": 1.1, "trades": 14}, "note": "walk-forward, 3 folds"})
    envelope = wrap(Control(command=Command.PANIC_CHECK, reason="console test", issued_at=end), ts=end)
    store.put("dlq", f"risk-control:{envelope.id}", {
        "subscription": "risk-control", "topic": "control", "dlq_topic": "control-dlq",
        "message_id": envelope.id, "type": envelope.type, "reason": "handler failed: console test",
        "attempts": 5, "dead_at": end.isoformat(), "status": "dead", "envelope": envelope.model_dump(mode="json")})
    return store, end


@pytest.fixture(scope="module")
def server(replay):
    store, end = replay
    clock = SimulatedClock(end + timedelta(minutes=1))
    secrets = EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ},
                             secrets_dir="/nonexistent")
    with chrome.served(build_console_app(store, secrets, clock, read_only=False)) as url:
        yield url, store, clock


@pytest.fixture(scope="module")
def driver():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chrome.browser(WAIT_S) as browser:
        yield browser


# -- helpers -------------------------------------------------------------------------------
def wait(browser, condition, what: str, timeout: float = WAIT_S):
    """Until condition(browser) is truthy; the page re-renders every 2 s, so a stale element
    only means "look again"."""
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                             ).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}") from None


def text(browser, css: str) -> str:
    """The rendered text of the first match ("" when none), read in one step in the page."""
    return browser.execute_script(
        "const n = document.querySelector(arguments[0]); return n ? n.innerText : ''", css)


def attribute(browser, css: str, name: str) -> str | None:
    return browser.execute_script(
        "const n = document.querySelector(arguments[0]); return n ? n.getAttribute(arguments[1]) : null", css, name)


def press_in_row(browser, table_css: str, row_text: str, label: str) -> bool:
    """Click the button `label` of the row of `table_css` that contains `row_text`."""
    return browser.execute_script("""
        const [css, needle, label] = arguments;
        for (const row of document.querySelectorAll(css + ' tbody tr')) {
          if (!row.innerText.includes(needle)) continue;
          const b = [...row.querySelectorAll('button')].find((x) => x.textContent === label);
          if (b) { b.click(); return true; }
        }
        return false;""", table_css, row_text, label)


def load(browser, base: str) -> None:
    browser.get(base + "/console")
    wait(browser, lambda d: d.execute_script("return document.body && document.body.dataset.ready") == "1", "the page")


def sign_in(browser, base: str, token: str) -> None:
    """A fresh page with nothing in sessionStorage, then the token typed and submitted."""
    load(browser, base)
    browser.execute_script("sessionStorage.clear()")
    load(browser, base)
    box = wait(browser, lambda d: d.find_element(By.ID, "token"), "the token field")
    box.send_keys(token)
    browser.find_element(By.ID, "signin-button").click()


def signed_in(browser) -> None:
    wait(browser, lambda d: d.find_element(By.ID, "app").is_displayed(), "the console after sign-in")


def tab(browser, view: str, ready: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f'#tabs button[data-view="{view}"]').click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ready).is_displayed(), f"the {view} view")


def confirm(browser, operator: str, reason: str) -> None:
    wait(browser, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None, "the dialog")
    field = browser.find_element(By.ID, "confirm-operator")
    field.clear()
    field.send_keys(operator)
    browser.find_element(By.ID, "confirm-reason").send_keys(reason)
    browser.find_element(By.ID, "confirm-ok").click()


def dialog_closed(browser) -> None:
    wait(browser, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is None, "the dialog to close")


def shot(browser, name: str) -> Path:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    width = browser.execute_script("return window.outerWidth")
    browser.set_window_size(width, min(max(int(height) + 120, 700), 4000))
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(width, 900)
    return path


def csp_violations(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]


def grouped(decimal_string: str) -> str:
    """A decimal string as the page shows it: thousands grouped, 2 decimals cut (not rounded)."""
    whole, _, frac = decimal_string.partition(".")
    return f"{int(whole):,}.{(frac + '00')[:2]}"


# -- scenarios ------------------------------------------------------------------------------
def test_a_wrong_token_sees_nothing(server, driver):
    base, _, _ = server
    sign_in(driver, base, "not-the-token")
    wait(driver, lambda d: text(d, "#signin-msg") == "sign-in refused", "the refusal")
    assert not driver.find_element(By.ID, "app").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "#app table, #app svg path") == []
    assert driver.execute_script("return sessionStorage.length") == 0
    shot(driver, "signin-refused")


def test_sign_in_draws_the_equity_chart_from_the_replay(server, driver):
    base, store, _ = server
    points = [d for _, d in store.query("equity", order_by="at")]
    assert len(points) >= 10  # one every 5 simulated minutes over the hour
    sign_in(driver, base, READ)
    signed_in(driver)
    path = wait(driver, lambda d: attribute(d, "#equity-nav", "d"), "the NAV line")
    assert path.count("M") + path.count("L") == len(points)  # one vertex per stored point
    hold = attribute(driver, "#equity-hold", "d")
    assert hold.count("M") + hold.count("L") == len(points)
    legend = text(driver, "#equity-chart")
    assert f"NAV {grouped(points[-1]['nav'])}" in legend
    assert f"buy and hold {grouped(points[-1]['hold'])}" in legend
    # the token is in this tab's sessionStorage only: not in the URL, not in localStorage
    assert READ not in driver.current_url
    assert driver.execute_script("return sessionStorage.getItem('tw.console.token')") == READ
    assert driver.execute_script("return localStorage.length") == 0
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#attribution rect.bar"), "attribution bars")
    shot(driver, "overview")  # docs/console.png is a copy of this one (made by hand, not by the test)
    for view, ready in (("balances", "#balances table"), ("trades", "#trades table"),
                        ("arbitrage", "#arb-misses table"), ("operations", "#dlq table"),
                        ("optimizer", "#jobs table"), ("settings", "#settings-fields input")):
        tab(driver, view, ready)
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, f"#view-{view} .error") if e.text]
        assert errors == [], f"{view}: {errors}"
        shot(driver, view)
    driver.set_window_size(390, 844)  # a phone
    tab(driver, "overview", "#equity-nav")
    driver.save_screenshot(str(SHOTS / "phone-overview.png"))
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    driver.set_window_size(1280, 900)
    assert csp_violations(driver) == []


def test_halt_and_resume_change_the_risk_state_and_the_audit_names_the_operator(server, driver):
    base, store, clock = server
    sign_in(driver, base, ADMIN)
    signed_in(driver)
    wait(driver, lambda d: "running" in text(d, "#risk"), "the running state")
    driver.find_element(By.ID, "halt").click()
    confirm(driver, "alice", "console test halt")
    dialog_closed(driver)
    wait(driver, lambda d: "HALTED" in text(d, "#risk") and text(d, "#halt-badge") == "HALTED", "the halt")
    assert store.get("state", "risk")["halted"] is True
    halts = [d for _, d in store.query("audit", [("kind", "==", "halt")]) if d.get("reason") == "console test halt"]
    assert [d["actor"] for d in halts] == ["api:admin:alice"]
    shot(driver, "halted")
    clock.advance(timedelta(minutes=1))
    driver.find_element(By.ID, "resume").click()
    confirm(driver, "bob", "console test resume")
    dialog_closed(driver)
    wait(driver, lambda d: "running" in text(d, "#risk") and text(d, "#halt-badge") == "trading", "the resume")
    assert store.get("state", "risk")["halted"] is False
    resumes = [d for _, d in store.query("audit", [("kind", "==", "resume")])]
    assert [d["actor"] for d in resumes] == ["api:admin:bob"]


def test_a_bad_risk_limit_is_refused_with_a_clear_message_and_a_good_one_is_saved(server, driver):
    base, store, _ = server
    sign_in(driver, base, ADMIN)
    signed_in(driver)
    tab(driver, "settings", "#set-limits-max_order_usd")
    field = driver.find_element(By.ID, "set-limits-max_order_usd")  # not re-rendered while edited
    assert field.get_attribute("value") == "2500"  # config/risk.yaml
    field.clear()
    field.send_keys("-5")
    driver.find_element(By.ID, "settings-save").click()
    confirm(driver, "carol", "smaller orders")
    wait(driver, lambda d: "max_order_usd" in text(d, "#settings-msg"), "the refusal on the page")
    message = text(driver, "#settings-msg")
    assert message.startswith("refused: limits.max_order_usd: must be a decimal string"), message
    assert "max_order_usd" in text(driver, "#confirm-error")
    shot(driver, "settings-refused")
    assert store.get("settings", "current") is None  # nothing written
    driver.find_element(By.ID, "confirm-cancel").click()
    field = driver.find_element(By.ID, "set-limits-max_order_usd")
    field.clear()
    field.send_keys("2000")
    driver.find_element(By.ID, "settings-save").click()
    confirm(driver, "carol", "smaller orders")
    dialog_closed(driver)
    wait(driver, lambda d: "version 1" in text(d, "#settings-version"), "version 1")
    current = store.get("settings", "current")
    assert current["version"] == 1 and current["risk"] == {"limits": {"max_order_usd": "2000"}}
    assert current["updated_by"] == "api:admin:carol"
    wait(driver, lambda d: d.find_element(By.ID, "set-limits-max_order_usd").get_attribute("value") == "2000",
         "the saved value in the editor")
    shot(driver, "settings-saved")


def test_approve_a_recommended_parameter_version(server, driver):
    base, store, _ = server
    sign_in(driver, base, ADMIN)
    signed_in(driver)
    tab(driver, "optimizer", "#jobs table")
    wait(driver, lambda d: press_in_row(d, "#jobs", JOB, "Approve"), "the recommended job's Approve")
    confirm(driver, "dave", "better walk-forward sharpe")
    dialog_closed(driver)
    job = store.get("optimizer_jobs", JOB)
    assert job["status"] == "approved" and job["applied_version"] == 1
    assert store.get("params", "breakout")["values"] == {"lookback": 45.0, "buffer": 0.0006}
    wait(driver, lambda d: "approved" in d.execute_script(
        "return [...document.querySelectorAll('#jobs tbody tr')].filter((r) => r.innerText.includes(arguments[0]))"
        ".map((r) => r.innerText).join()", JOB), "the approved job")
    shot(driver, "optimizer-approved")


def test_requeue_a_dead_letter(server, driver):
    base, store, _ = server
    sign_in(driver, base, ADMIN)
    signed_in(driver)
    tab(driver, "operations", "#dlq table")
    key, doc = store.query("dlq", [("status", "==", "dead")])[0]
    wait(driver, lambda d: press_in_row(d, "#dlq", doc["reason"], "Requeue"), "the dead letter's Requeue")
    confirm(driver, "erin", "handler fixed")
    dialog_closed(driver)
    assert store.get("dlq", key)["status"] == "requeued"
    wait(driver, lambda d: "no dead letters" in text(d, "#dlq"), "the empty dead-letter list")
    shot(driver, "operations-requeued")


def test_a_read_token_cannot_act_and_sees_why(server, driver):
    base, store, _ = server
    sign_in(driver, base, READ)
    signed_in(driver)
    driver.find_element(By.ID, "halt").click()
    confirm(driver, "mallory", "should not work")
    wait(driver, lambda d: "admin scope" in text(d, "#confirm-error"), "the 403 message")
    assert store.get("state", "risk")["halted"] is False
    driver.find_element(By.ID, "confirm-cancel").click()
