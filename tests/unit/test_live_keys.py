import json

import pytest

from shared.adapters.local.secrets import EnvFileSecrets
from shared.execution.live import LiveModeRefused, venue_credentials, venue_keys


def secrets(**values):
    return EnvFileSecrets(secrets_dir="/nonexistent", environ={
        EnvFileSecrets.env_name(k.replace("_", "-")): v for k, v in values.items()})


def test_keys_come_from_the_exchange_keys_bundle():
    s = secrets(exchange_keys=json.dumps({"binance": {"api_key": "k", "secret": "s"}}))
    assert venue_keys(s, "binance") == ("k", "s")
    with pytest.raises(LiveModeRefused, match="no api_key/secret for venue 'kraken'"):
        venue_keys(s, "kraken")


def test_a_malformed_bundle_is_refused_without_echoing_it():
    with pytest.raises(LiveModeRefused, match="not JSON") as info:
        venue_keys(secrets(exchange_keys="{secret-value"), "binance")
    assert "secret-value" not in str(info.value)


def test_per_venue_secrets_are_the_local_fallback():
    s = secrets(binance_api_key="k2", binance_api_secret="s2")
    assert venue_keys(s, "binance") == ("k2", "s2")
    with pytest.raises(KeyError, match="kraken-api-key"):
        venue_keys(s, "kraken")


def test_passphrase_and_sandbox_come_from_the_bundle():
    s = secrets(exchange_keys=json.dumps({"okx": {"api_key": "k", "secret": "s", "password": "p", "sandbox": True}}))
    assert venue_credentials(s, "okx") == {"api_key": "k", "secret": "s", "password": "p", "sandbox": True}
    with pytest.raises(LiveModeRefused, match="venue 'okx': apiKey: Extra inputs"):
        venue_credentials(secrets(exchange_keys=json.dumps({"okx": {"api_key": "k", "secret": "s", "apiKey": "k"}})), "okx")
