"""Secrets from the environment or from files (the local stand-in for Secret Manager).

`TW_SECRET_<NAME>` (name upper-cased, dashes as underscores) wins; otherwise the file
`<secrets_dir>/<name>`. Values are never logged or shown in errors.
"""

from __future__ import annotations

import os
from pathlib import Path


class EnvFileSecrets:
    def __init__(self, secrets_dir: Path | str | None = None, environ: dict[str, str] | None = None):
        self.dir = Path(secrets_dir or os.environ.get("TW_SECRETS_DIR", ".secrets"))
        self.environ = environ if environ is not None else os.environ

    @staticmethod
    def env_name(name: str) -> str:
        return "TW_SECRET_" + name.upper().replace("-", "_")

    def get(self, name: str) -> str:
        value = self.environ.get(self.env_name(name))
        if value:
            return value
        path = self.dir / name
        if path.is_file():
            return path.read_text().strip()
        raise KeyError(f"secret {name!r} not found (set {self.env_name(name)} or create {path})")
