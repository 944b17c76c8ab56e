"""The notification config is typed and validated once; errors name the field."""

import pytest

from shared.contracts import Severity
from shared.errors import ConfigError
from shared.notify.config import load, parse

ROUTES = {s.value: ["slack"] for s in Severity}


def test_shipped_config_loads_with_a_route_for_every_severity():
    config = load()
    assert all(config.route(s) for s in Severity)
    assert config.channels.telegram.rate_limit.interval_s == 1.0
    assert config.retry.delay(1) == 0.5 and config.retry.delay(10) == config.retry.max_delay_s


def test_missing_severity_route_is_a_config_error():
    with pytest.raises(ConfigError, match="routes missing for severities"):
        parse({"routes": {"info": ["slack"]}})


def test_unknown_channel_and_unknown_field_are_rejected():
    with pytest.raises(ConfigError, match="routes"):
        parse({"routes": {**ROUTES, "info": ["pager"]}})
    with pytest.raises(ConfigError, match="dedupe_windw"):
        parse({"routes": ROUTES, "dedupe_windw": 5})


def test_enabled_webhook_needs_a_target():
    with pytest.raises(ConfigError, match="url"):
        parse({"routes": ROUTES, "channels": {"webhook": {"enabled": True}}})


def test_local_only_routes_everything_to_the_local_file():
    config = parse({"routes": ROUTES, "mirror": ["slack"]}).local_only("/tmp/n.jsonl")
    assert {config.route(s) for s in Severity} == {("local",)} and config.mirror == ()
    assert config.used_channels() == {"local"} and config.channels.local.path == "/tmp/n.jsonl"


def test_disabled_channels_are_not_used():
    config = parse({"routes": {**ROUTES, "critical": ["slack", "email"]}})
    assert config.used_channels() == {"slack"}
