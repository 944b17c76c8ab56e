"""Typed settings of the executor service, read from the environment once at start-up.

The adapters follow the conventions of `functions/bootstrap.py` and Terraform:
- `TRADEWINDS_BACKEND=gcp` (set by Terraform on every service) makes Firestore, Pub/Sub
  and Secret Manager the defaults; without it the defaults are local: SQLite, the
  in-process bus and env/file secrets (a laptop run needs no account);
- `TW_STORE` (`sqlite` | `firestore`), `TW_SQLITE_PATH`, `TRADEWINDS_BUS` (`inprocess` |
  `pubsub`, as the feed reads it), `TW_SECRETS` (`env` | `secret-manager`),
  `TW_CONFIG_DIR`, `TRADEWINDS_VENUES`, `GOOGLE_CLOUD_PROJECT` override one choice each;
- the trading mode is `TW_MODE` (what `shared.execution.live` checks) or Terraform's
  `TRADEWINDS_MODE`; live trading ALSO needs `--i-understand-live` on the command line;
- `EXECUTOR_<FIELD>` sets a loop knob (EXECUTOR_BOOKS, EXECUTOR_SIM_INTERVAL_S, ...), and
  where the order claims and the paper venues' records live (EXECUTOR_CLAIMS_PATH,
  EXECUTOR_PAPER_VENUE_PATH; EXECUTOR_CLAIM_GRACE_S: how old an unresolved claim must be
  before reconciliation settles it).
A bad value fails here, with the variable named.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigError
from shared.execution.live import LIVE_FLAG

_ENV_NAMES = {
    "store": "TW_STORE", "sqlite_path": "TW_SQLITE_PATH", "bus": "TRADEWINDS_BUS",
    "secrets": "TW_SECRETS", "config_dir": "TW_CONFIG_DIR", "venues_path": "TRADEWINDS_VENUES",
    "project": "GOOGLE_CLOUD_PROJECT",
}
_KNOBS = ("books", "seed", "sim_interval_s", "flush_interval_s", "refresh_interval_s", "book_depth",
          "ccxt_urls", "reconcile_retry_s", "reconcile_interval_s", "publish_retry_s", "dlq_batch",
          "claims_path", "paper_venue_path", "claim_grace_s")


class ExecutorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["paper", "live"] = "paper"
    live_flag: bool = False  # `--i-understand-live` was on the command line
    store: Literal["sqlite", "firestore"] = "sqlite"
    sqlite_path: str = ".tradewinds/executor.sqlite"
    bus: Literal["inprocess", "pubsub"] = "inprocess"
    secrets: Literal["env", "secret-manager"] = "env"
    project: str = "tradewinds-local"
    config_dir: str = "config"
    venues_path: str = ""  # default: <config_dir>/venues.yaml
    # where the books come from: each venue's `kind` in venues.yaml, or forced for all
    books: Literal["config", "simulated", "ccxt"] = "config"
    seed: int = 7
    sim_interval_s: float = Field(default=1.0, gt=0, le=60)
    flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    refresh_interval_s: float | None = Field(default=None, gt=0, le=3600)  # None: executor.yaml
    book_depth: int = Field(default=20, ge=1, le=1000)
    ccxt_urls: str | None = None  # point every ccxt url at another host (tests: 127.0.0.1)
    reconcile_retry_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(default=60.0, gt=0, le=3600)  # unknown-outcome orders
    publish_retry_s: float = Field(default=1.0, gt=0)
    dlq_batch: int = Field(default=100, ge=1, le=1000)
    # order claims (SQLite store only; Firestore keeps them in `order_claims/`) and the paper
    # venues' own records: "" = a file next to `sqlite_path` (in memory when the store is)
    claims_path: str = ""
    paper_venue_path: str = ""
    claim_grace_s: float = Field(default=120.0, ge=0, le=3600)  # a younger claim may be in flight
    version: str = "dev"

    @field_validator("sim_interval_s")
    @classmethod
    def _divides_a_minute(cls, value: float) -> float:
        steps = 60.0 / value
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"must divide a minute (the simulator's grid), got {value}")
        return value

    @property
    def market_path(self) -> Path:
        return Path(self.venues_path or Path(self.config_dir) / "venues.yaml")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 argv: Sequence[str] | None = None) -> ExecutorSettings:
        env = os.environ if environ is None else environ
        argv = sys.argv if argv is None else argv
        values: dict[str, object] = {}
        if env.get("TRADEWINDS_BACKEND") == "gcp":
            values.update(store="firestore", bus="pubsub", secrets="secret-manager")
        for field, name in _ENV_NAMES.items():
            if env.get(name):
                values[field] = env[name]
        for field in _KNOBS:
            name = f"EXECUTOR_{field.upper()}"
            if env.get(name):
                values[field] = env[name]
        values["mode"] = _mode(env)
        values["live_flag"] = LIVE_FLAG in argv
        values["version"] = env.get("TRADEWINDS_VERSION") or env.get("K_REVISION") or "dev"
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            name = _ENV_NAMES.get(field) or (f"EXECUTOR_{field.upper()}" if field in _KNOBS else field)
            raise ConfigError(f"executor settings: {name}: {first['msg']}") from exc

    def live_environ(self) -> dict[str, str]:
        """What `shared.execution.live.require_live` reads: the mode resolved here."""
        return {"TW_MODE": self.mode}


def _mode(env: Mapping[str, str]) -> str:
    tw, tf = env.get("TW_MODE"), env.get("TRADEWINDS_MODE")
    if tw and tf and tw != tf:
        raise ConfigError(f"executor settings: TW_MODE={tw!r} and TRADEWINDS_MODE={tf!r} disagree")
    return tw or tf or "paper"
