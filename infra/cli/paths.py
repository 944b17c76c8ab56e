"""Where the CLI finds its configuration, from any folder.

`config_dir(option)`: `--config DIR` when given (it must be a folder), else `./config` when the
current folder holds a project configuration (a `config/venues.yaml`: a checkout, or a folder made
by `tradewinds init`), else the defaults shipped inside the package.

The shipped defaults are the repository's own `config/`: `infra/default_config` is a symbolic link
to it, and the wheel's package data (pyproject `[tool.setuptools.package-data]`) copies the
YAMLs it points at, so `config/` stays the one source of truth.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from shared.errors import ConfigError

LOCAL = Path("config")
MARKER = "venues.yaml"  # a configuration folder holds at least the venues


def packaged() -> Path:
    """The default configuration shipped with the installed package."""
    return Path(str(resources.files("infra").joinpath("default_config")))


def config_dir(option: Path | None = None) -> Path:
    """The configuration folder a command uses: `--config`, else ./config, else the packaged one."""
    if option is not None:
        if not option.is_dir():
            raise ConfigError(f"--config {option}: no such folder (make one with `tradewinds init`)")
        return option
    if (LOCAL / MARKER).is_file():
        return LOCAL
    return packaged()
