"""Strategy instances declared in YAML (config/strategies/*.yaml), typed and validated once.

A file holds one instance (a mapping) or several (a list of mappings). Each instance names
its plugin, the symbols it votes on, its ensemble weight, optionally the market regimes it
votes in (`regimes: [trend]`: shared/signals/regime.py labels trend, range, high_volatility;
in any other regime the instance abstains; omitted: every regime) and its parameters; every
parameter carries its search range for the optimizer and, optionally, the narrower range
inside which a recommendation may be applied without a human. Any problem raises
ConfigError as `<file>: <field.path>: <message>`, e.g.
`config/strategies/rsi.yaml: params.period.max: max (5) is below min (10)`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.errors import ConfigError
from shared.strategies.registry import PLUGINS

DEFAULT_DIRECTORY = "config/strategies"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_TIMEFRAME = re.compile(r"^[1-9]\d*[smhdw]$")
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_PREFIXED = re.compile(r"^([A-Za-z_][\w]*): (.*)$", re.DOTALL)
_MAX_REPORTED = 5


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamSpec(_Frozen):
    """One tunable parameter: current value, search range and optional auto-apply range.

    Fields are validated in the order kind, min, max, value, ... so each error names the
    field at fault.
    """

    kind: Literal["int", "float"] = "float"
    min: float
    max: float
    value: float
    step: float | None = Field(default=None, gt=0)
    safe_min: float | None = None
    safe_max: float | None = None

    @field_validator("min", "max", "value", "safe_min", "safe_max")
    @classmethod
    def _finite_and_typed(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is None:
            return v
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        if info.data.get("kind") == "int" and v != round(v):
            raise ValueError(f"kind is int but {v} is not a whole number")
        return v

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("min")
        if lo is not None and v < lo:
            raise ValueError(f"max ({v:g}) is below min ({lo:g})")
        return v

    @field_validator("value")
    @classmethod
    def _value_in_range(cls, v: float, info: ValidationInfo) -> float:
        lo, hi = info.data.get("min"), info.data.get("max")
        if lo is not None and hi is not None and not lo <= v <= hi:
            raise ValueError(f"{v:g} is outside [min {lo:g}, max {hi:g}]")
        return v

    @field_validator("safe_min", "safe_max")
    @classmethod
    def _safe_inside(cls, v: float | None, info: ValidationInfo) -> float | None:
        lo, hi = info.data.get("min"), info.data.get("max")
        if v is not None and lo is not None and hi is not None and not lo <= v <= hi:
            raise ValueError(f"{v:g} is outside [min {lo:g}, max {hi:g}]")
        if info.field_name == "safe_max" and v is not None:
            safe_lo = info.data.get("safe_min")
            if safe_lo is not None and v < safe_lo:
                raise ValueError(f"safe_max ({v:g}) is below safe_min ({safe_lo:g})")
        return v

    @property
    def safe_range(self) -> tuple[float, float]:
        """Where a recommended value may be applied automatically (defaults to min..max)."""
        lo = self.min if self.safe_min is None else self.safe_min
        hi = self.max if self.safe_max is None else self.safe_max
        return lo, hi

    def is_safe(self, value: float) -> bool:
        lo, hi = self.safe_range
        return lo <= value <= hi


class StrategySpec(_Frozen):
    """One strategy instance. `name` is unique (it is the voter name); `plugin` defaults
    to the name when omitted."""

    name: str = Field(min_length=1, max_length=64)
    plugin: str
    enabled: bool = True
    symbols: list[str] = Field(min_length=1)
    timeframe: str = "1m"
    weight: float = Field(ge=0)
    regimes: list[Literal["trend", "range", "high_volatility"]] | None = Field(default=None, min_length=1)
    params: dict[str, ParamSpec]

    @model_validator(mode="before")
    @classmethod
    def _plugin_defaults_to_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "plugin" not in data and isinstance(data.get("name"), str):
            data = {**data, "plugin": data["name"]}
        return data

    @field_validator("name")
    @classmethod
    def _name_shape(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} must be lower-case letters, digits, '_' or '-'")
        return v

    @field_validator("plugin")
    @classmethod
    def _plugin_known(cls, v: str) -> str:
        if v not in PLUGINS:
            raise ValueError(f"unknown plugin {v!r}; known: {', '.join(sorted(PLUGINS))}")
        return v

    @field_validator("symbols")
    @classmethod
    def _symbols_shape(cls, v: list[str]) -> list[str]:
        for symbol in v:
            base, sep, quote = symbol.partition("/")
            if not (sep and base and quote):
                raise ValueError(f"{symbol!r} is not BASE/QUOTE (e.g. BTC/USDT)")
        if len(set(v)) != len(v):
            raise ValueError("a symbol is listed twice")
        return v

    @field_validator("timeframe")
    @classmethod
    def _timeframe_shape(cls, v: str) -> str:
        if not _TIMEFRAME.match(v):
            raise ValueError(f"{v!r} is not a timeframe such as 1m, 5m, 1h")
        return v

    @field_validator("params")
    @classmethod
    def _params_fit_plugin(cls, v: dict[str, ParamSpec], info: ValidationInfo) -> dict[str, ParamSpec]:
        plugin = PLUGINS.get(info.data.get("plugin", ""))
        if plugin is None:
            return v  # the plugin error is already reported
        expected = set(plugin.defaults)
        for name in sorted(set(v) - expected):
            raise ValueError(f"{name}: unknown parameter for plugin {plugin.name} "
                             f"(it takes {', '.join(sorted(expected))})")
        for name in sorted(expected - set(v)):
            raise ValueError(f"{name}: missing (plugin {plugin.name} takes "
                             f"{', '.join(sorted(expected))})")
        for name, message in plugin.check({k: p.value for k, p in v.items()}):
            raise ValueError(f"{name}: {message}")
        return v

    def values(self) -> dict[str, float]:
        """The current parameter values, as the plugin takes them."""
        return {name: float(spec.value) for name, spec in self.params.items()}

    def trades(self, symbol: str) -> bool:
        return self.enabled and symbol in self.symbols

    def votes_in(self, regime: str | None) -> bool:
        """Whether the instance votes in `regime` (None: not known yet, e.g. a short window)."""
        return self.regimes is None or regime in self.regimes

    def with_values(self, values: Mapping[str, float]) -> StrategySpec:
        """A copy with new current values (e.g. an optimizer result or a rollback), checked
        like the YAML: known names, inside min..max, whole numbers for int, plugin rules.
        Raises pydantic.ValidationError (a ValueError)."""
        data = self.model_dump()
        for name, value in values.items():
            if name not in data["params"]:
                raise ValueError(f"params.{name}: unknown parameter of {self.name}")
            data["params"][name]["value"] = value
        return StrategySpec.model_validate(data)

    def outside_safe_range(self, values: Mapping[str, float]) -> list[str]:
        """Names of the given values that a human must approve (outside safe_min..safe_max)."""
        return sorted(n for n, v in values.items() if n in self.params and not self.params[n].is_safe(v))


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(exc: ValidationError, source: str, prefix: str) -> str:
    lines = []
    for err in exc.errors()[:_MAX_REPORTED]:
        path = _field_path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        match = _PREFIXED.match(msg)
        if match and path:  # "period: ..." raised inside `params` → params.period
            path, msg = f"{path}.{match.group(1)}", match.group(2)
        path = prefix + path if path else (prefix.rstrip(".") or "<root>")
        lines.append(f"{source}: {path}: {msg}")
    if exc.error_count() > _MAX_REPORTED:
        lines.append(f"{source}: ... and {exc.error_count() - _MAX_REPORTED} more error(s)")
    return "\n".join(lines)


def parse_file(path: Path, source: str | None = None) -> list[StrategySpec]:
    """The strategy instances of one YAML file; raises ConfigError naming file and field."""
    source = source or str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    items = raw if isinstance(raw, list) else [raw]
    specs = []
    for i, item in enumerate(items):
        prefix = f"[{i}]." if isinstance(raw, list) else ""
        if not isinstance(item, dict):
            where = prefix.rstrip(".") or "<root>"
            raise ConfigError(f"{source}: {where}: expected a mapping of strategy fields, "
                              f"got {type(item).__name__}")
        try:
            specs.append(StrategySpec.model_validate(item))
        except ValidationError as exc:
            raise ConfigError(_describe(exc, source, prefix)) from exc
    return specs


def _resolve(directory: str | Path) -> Path:
    path = Path(directory)
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        return _REPO_ROOT / path
    return path


def load_strategies(directory: str | Path = DEFAULT_DIRECTORY) -> list[StrategySpec]:
    """Every instance in `directory/*.yaml` (and *.yml), files in name order.

    Raises ConfigError for a missing directory, bad YAML, an unknown plugin or field, a
    parameter outside its range, or an instance name used twice.
    """
    root = _resolve(directory)
    if not root.is_dir():
        raise ConfigError(f"{directory}: strategy directory not found")
    seen: dict[str, str] = {}
    specs: list[StrategySpec] = []
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    for path in files:
        source = str(Path(directory) / path.name)
        for spec in parse_file(path, source):
            if spec.name in seen:
                raise ConfigError(f"{source}: name: duplicate strategy name {spec.name!r} "
                                  f"(already defined in {seen[spec.name]})")
            seen[spec.name] = source
            specs.append(spec)
    return specs
