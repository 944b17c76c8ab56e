"""The `exchange-keys` secret (one story for every ccxt venue: docs/live.md) and the sandbox
switch: parsed and validated without echoing a value; a sandbox entry sends every call to the
venue's testnet, and a venue without one is refused."""

import json

import ccxt
import pytest

from shared.adapters.ccxt.config import (
    CcxtSettings,
    apply_sandbox,
    ccxt_config,
    parse_exchange_keys,
)

pytestmark = pytest.mark.timeout(30)
KEY, SECRET, PASS = "k" * 24, "s" * 40, "p" * 12


def test_the_documented_format_parses_with_passphrase_and_sandbox():
    keys = parse_exchange_keys(json.dumps({
        "binance": {"api_key": KEY, "secret": SECRET},
        "okx": {"api_key": KEY, "secret": SECRET, "password": PASS, "sandbox": True}}))
    assert keys["binance"].api_key.get_secret_value() == KEY and keys["binance"].sandbox is False
    assert keys["okx"].password.get_secret_value() == PASS and keys["okx"].sandbox is True
    assert SECRET not in repr(keys)  # SecretStr: a log line never shows a key


@pytest.mark.parametrize("text, expected", [
    ("{not json", "secret exchange-keys is not JSON (line 1)"),
    ("[]", "secret exchange-keys must be a JSON object of venues"),
    (json.dumps({"binance": {"api_key": KEY}}), "venue 'binance': secret: Field required"),
    (json.dumps({"binance": {"api_key": KEY, "secret": SECRET, "apiKey": KEY}}), "venue 'binance': apiKey: Extra"),
])
def test_a_malformed_secret_names_venue_and_field_never_a_value(text, expected):
    with pytest.raises(ValueError) as info:
        parse_exchange_keys(text)
    assert expected in str(info.value) and KEY not in str(info.value) and SECRET not in str(info.value)
    assert '{"<venue>": {"api_key": "...", "secret": "..."' in str(info.value)  # says what is wanted


def test_passphrase_reaches_ccxt_and_sandbox_points_every_call_at_the_testnet():
    settings = CcxtSettings(exchange_id="okx", api_key=KEY, secret=SECRET, password=PASS, sandbox=True)
    describe = ccxt.okx().describe()
    config = ccxt_config(settings, describe)
    assert (config["apiKey"], config["secret"], config["password"]) == (KEY, SECRET, PASS)
    exchange = ccxt.okx(config)
    apply_sandbox(exchange, settings)
    assert exchange.urls["api"] == describe["urls"]["test"]
    assert exchange.headers["x-simulated-trading"] == "1"  # OKX's demo-trading flag, set by ccxt
    live = ccxt.okx(ccxt_config(settings.model_copy(update={"sandbox": False}), describe))
    apply_sandbox(live, settings.model_copy(update={"sandbox": False}))
    assert live.urls["api"] == describe["urls"]["api"]


def test_a_venue_without_a_sandbox_is_refused_not_sent_live():
    settings = CcxtSettings(exchange_id="kraken", sandbox=True)
    exchange = ccxt.kraken(ccxt_config(settings, ccxt.kraken().describe()))
    with pytest.raises(ValueError, match="kraken has no sandbox/testnet in ccxt"):
        apply_sandbox(exchange, settings)
