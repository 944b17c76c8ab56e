"""Strategy YAML: the shipped files load; every mistake names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.strategies import PLUGINS, ParamSpec, StrategySpec, get_plugin, load_strategies

pytestmark = pytest.mark.timeout(30)

GOOD_RSI = """\
name: rsi
plugin: rsi
enabled: true
symbols: [BTC/USDT, ETH/USDT]
timeframe: 1m
weight: 0.2
params:
  period:     {value: 14, min: 5, max: 30, step: 1, kind: int}
  oversold:   {value: 30, min: 10, max: 40}
  overbought: {value: 70, min: 60, max: 90, safe_min: 65, safe_max: 80}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def load_error(tmp_path: Path, text: str, name: str = "rsi.yaml") -> str:
    write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_strategies(tmp_path)
    message = str(info.value)
    assert str(tmp_path / name) in message  # the file is always named
    return message


def test_shipped_config_loads_with_every_plugin_and_sane_values():
    specs = load_strategies()  # config/strategies from the repo root
    assert {s.plugin for s in specs} == set(PLUGINS)
    assert len({s.name for s in specs}) == len(specs)
    for spec in specs:
        assert spec.enabled and spec.weight > 0 and spec.timeframe == "1m"
        plugin = get_plugin(spec.plugin)
        assert set(spec.values()) == set(plugin.defaults)
        assert plugin.check(spec.values()) == []
        for param in spec.params.values():
            lo, hi = param.safe_range
            assert param.min <= lo <= param.value <= hi <= param.max


def test_good_file_parses_into_typed_specs(tmp_path):
    (spec,) = load_strategies(write(tmp_path, "rsi.yaml", GOOD_RSI))
    assert spec.values() == {"period": 14.0, "oversold": 30.0, "overbought": 70.0}
    assert spec.params["period"].kind == "int" and spec.params["oversold"].kind == "float"
    assert spec.params["overbought"].is_safe(75) and not spec.params["overbought"].is_safe(85)
    assert spec.params["oversold"].safe_range == (10, 40)
    assert spec.trades("BTC/USDT") and not spec.trades("SOL/USDT")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("period:     {value: 14, min: 5, max: 30,", "period:     {value: 14, min: 5, max: 3,", "params.period.max"),
        ("period:     {value: 14, min: 5, max: 30,", "period:     {value: 40, min: 5, max: 30,", "params.period.value"),
        ("period:     {value: 14,", "period:     {value: 14.5,", "params.period.value"),
        ("period:     {value: 14,", "period:     {value: fourteen,", "params.period.value"),
        ("step: 1, kind: int", "step: -1, kind: int", "params.period.step"),
        ("kind: int}", "kind: integer}", "params.period.kind"),
        ("safe_max: 80}", "safe_max: 95}", "params.overbought.safe_max"),
        ("safe_min: 65, safe_max: 80}", "safe_min: 80, safe_max: 65}", "params.overbought.safe_max"),
        ("oversold:   {value: 30,", "oversold:   {value: 30, colour: red,", "params.oversold.colour"),
        ("oversold:   {value: 30, min: 10, max: 40}", "", "params.oversold"),
        ("  overbought:", "  extra_knob: {value: 1, min: 0, max: 2}\n  overbought:", "params.extra_knob"),
        ("oversold:   {value: 30, min: 10, max: 40}", "oversold:   {value: 75, min: 10, max: 80}",
         "params.oversold"),
        ("plugin: rsi", "plugin: rsx", "plugin"),
        ("weight: 0.2", "weight: -1", "weight"),
        ("timeframe: 1m", "timeframe: minute", "timeframe"),
        ("symbols: [BTC/USDT, ETH/USDT]", "symbols: [BTCUSDT]", "symbols"),
        ("symbols: [BTC/USDT, ETH/USDT]", "symbols: []", "symbols"),
        ("enabled: true", "enabled: true\ncolour: red", "colour"),
        ("name: rsi\n", "", "name"),
    ],
)
def test_each_mistake_names_file_and_field(tmp_path, old, new, field):
    assert old in GOOD_RSI
    message = load_error(tmp_path, GOOD_RSI.replace(old, new))
    assert f"rsi.yaml: {field}: " in message, message


def test_invalid_yaml_and_wrong_shape_name_the_file(tmp_path):
    message = load_error(tmp_path, "name: rsi\nparams: {period: [1, 2\n")
    assert "invalid YAML" in message and "line" in message
    assert "other.yaml: [0]: expected a mapping" in load_error(tmp_path, "- - 1\n", name="other.yaml")


def test_scalar_file_is_rejected(tmp_path):
    message = load_error(tmp_path, "just a string\n")
    assert "rsi.yaml: <root>: expected a mapping" in message


def test_duplicate_instance_names_are_rejected_naming_both_files(tmp_path):
    write(tmp_path, "a_rsi.yaml", GOOD_RSI)
    write(tmp_path, "b_rsi.yaml", GOOD_RSI)
    with pytest.raises(ConfigError) as info:
        load_strategies(tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'b_rsi.yaml'}: name: duplicate strategy name 'rsi'" in message
    assert str(tmp_path / "a_rsi.yaml") in message


def test_a_file_may_hold_several_instances_of_one_plugin(tmp_path):
    body = "\n".join("  " + line for line in GOOD_RSI.splitlines())
    fast = body.replace("name: rsi", "name: rsi_fast", 1).replace("  name:", "- name:", 1)
    slow = body.replace("name: rsi", "name: rsi_slow", 1).replace("  name:", "- name:", 1)
    specs = load_strategies(write(tmp_path, "rsi.yaml", f"{fast}\n{slow}\n"))
    assert [s.name for s in specs] == ["rsi_fast", "rsi_slow"] and {s.plugin for s in specs} == {"rsi"}
    broken = slow.replace("weight: 0.2", "weight: -2")
    message = load_error(tmp_path, f"{fast}\n{broken}\n")
    assert "rsi.yaml: [1].weight: " in message


def test_plugin_defaults_to_the_name_and_missing_directory_fails(tmp_path):
    spec = StrategySpec.model_validate({
        "name": "momentum", "symbols": ["BTC/USDT"], "weight": 1,
        "params": {"lookback": {"value": 10, "min": 5, "max": 20},
                   "threshold": {"value": 0.004, "min": 0.001, "max": 0.01}},
    })
    assert spec.plugin == "momentum" and spec.values() == {"lookback": 10.0, "threshold": 0.004}
    with pytest.raises(ConfigError, match="not found"):
        load_strategies(tmp_path / "nowhere")
    assert load_strategies(tmp_path) == []


def test_param_spec_rules():
    assert ParamSpec(value=3, min=1, max=5).kind == "float"
    with pytest.raises(ValueError, match="max"):
        ParamSpec(value=3, min=5, max=1)
    with pytest.raises(ValueError, match="extra"):
        ParamSpec(value=3, min=1, max=5, typo=1)


def test_with_values_validates_like_the_yaml_and_safe_range_is_reported(tmp_path):
    (spec,) = load_strategies(write(tmp_path, "rsi.yaml", GOOD_RSI))
    tuned = spec.with_values({"period": 20, "overbought": 85})
    assert tuned.values() == {"period": 20.0, "oversold": 30.0, "overbought": 85.0}
    assert spec.values()["period"] == 14.0  # the original is untouched
    assert spec.outside_safe_range({"period": 20, "overbought": 85}) == ["overbought"]
    for bad in ({"period": 31}, {"period": 14.5}, {"period": 4}, {"nope": 1}):
        with pytest.raises(ValueError):
            spec.with_values(bad)


def test_params_section_is_required(tmp_path):
    message = load_error(tmp_path, GOOD_RSI.split("params:")[0])
    assert "rsi.yaml: params: Field required" in message
