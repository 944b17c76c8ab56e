"""Read a YAML file into a pydantic model, failing with the file and field named."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shared.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_MAX_REPORTED = 5


def field_path(loc: tuple) -> str:
    """`("venues", 2, "taker_fee_bps")` -> `venues[2].taker_fee_bps`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def describe(exc: ValidationError, source: str) -> str:
    """One line per error, each `file: field.path: message`."""
    lines = []
    for err in exc.errors()[:_MAX_REPORTED]:
        lines.append(f"{source}: {field_path(tuple(err['loc']))}: {err['msg']}")
    extra = exc.error_count() - _MAX_REPORTED
    if extra > 0:
        lines.append(f"{source}: ... and {extra} more error(s)")
    return "\n".join(lines)


def load_yaml_model(path: str | Path, model_cls: type[M]) -> M:
    """Parse `path` as YAML and validate it into `model_cls`.

    Raises ConfigError naming the file, and the field path for validation errors.
    """
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: <root>: expected a mapping, got {type(raw).__name__}")
    try:
        return model_cls.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source)) from exc
