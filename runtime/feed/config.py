"""Typed settings of the feed service, validated once at start-up (env FEED_* overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import ConfigError


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stale_after_s: float = Field(default=5.0, gt=0)  # no update for this long → reconnect
    poll_interval_s: float = Field(default=1.0, gt=0)
    book_top_interval_s: float = Field(default=1.0, gt=0)  # book-tops rate per venue/symbol
    reconnect_base_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)
    book_depth: int = Field(default=20, ge=1, le=1000)
    max_backfill_minutes: int = Field(default=1440, ge=1)
    source: str = Field(default="config", pattern="^(simulated|ccxt|config)$")
    seed: int = 7
    version: str = "dev"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FeedConfig:
        env = os.environ if environ is None else environ
        values = {name: env[f"FEED_{name.upper()}"] for name in cls.model_fields
                  if f"FEED_{name.upper()}" in env}
        values.setdefault("version", env.get("TRADEWINDS_VERSION", env.get("K_REVISION", "dev")))
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"feed config: FEED_{str(first['loc'][0]).upper()}: {first['msg']}") from exc
