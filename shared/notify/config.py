"""Typed configuration of the notification step (`config/notifications.yaml`).

Validated once at start-up; an invalid file raises ConfigError naming the file and field.
Secrets (bot token, webhook URLs, SMTP password) are never in this file: it names the
secrets and the Secrets port supplies their values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts import Severity
from shared.errors import ConfigError

CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "notifications.yaml"
CHANNEL_NAMES = ("telegram", "slack", "webhook", "email", "local")
ChannelName = Literal["telegram", "slack", "webhook", "email", "local"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Frozen):
    """Retries of one channel before falling back to the next one in the route."""

    attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=5.0, ge=0)
    max_retry_after_s: float = Field(default=5.0, ge=0)
    """A 429 asking to wait longer than this falls back to the next channel at once."""

    def delay(self, attempt: int) -> float:
        """Backoff after failed attempt `attempt` (1-based): base, 2·base, 4·base … capped."""
        return min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempt - 1)))


class RateLimit(_Frozen):
    """Per-target (per Telegram chat) pacing with a bounded queue of reserved slots."""

    per_second: float = Field(default=1.0, gt=0)
    queue_size: int = Field(default=20, ge=1)
    """Reserved slots ahead of now; beyond it non-critical messages are dropped."""

    @property
    def interval_s(self) -> float:
        return 1.0 / self.per_second


class TelegramConfig(_Frozen):
    enabled: bool = True
    api_base: str = "https://api.telegram.org"
    token_secret: str = "telegram-bot-token"
    webhook_secret: str = "telegram-webhook-secret"
    chat_ids: tuple[int, ...] = ()
    """Chats that receive notifications."""
    allowed_chat_ids: tuple[int, ...] = ()
    """Chats whose commands the webhook accepts (defaults to chat_ids when empty)."""
    timeout_s: float = Field(default=5.0, gt=0)
    rate_limit: RateLimit = RateLimit()

    @property
    def command_chats(self) -> frozenset[int]:
        return frozenset(self.allowed_chat_ids or self.chat_ids)


class SlackConfig(_Frozen):
    enabled: bool = True
    url_secret: str = "slack-webhook-url"
    timeout_s: float = Field(default=5.0, gt=0)


class WebhookConfig(_Frozen):
    enabled: bool = False
    url: str | None = None
    url_secret: str | None = None
    headers: dict[str, str] = {}
    timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _has_target(self) -> WebhookConfig:
        if self.enabled and not (self.url or self.url_secret):
            raise ValueError("an enabled webhook needs url or url_secret")
        return self


class EmailConfig(_Frozen):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    sender: str = "tradewinds@localhost"
    recipients: tuple[str, ...] = ()
    username: str | None = None
    password_secret: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _has_recipients(self) -> EmailConfig:
        if self.enabled and not self.recipients:
            raise ValueError("an enabled email channel needs recipients")
        return self


class LocalConfig(_Frozen):
    enabled: bool = True
    path: str | None = None
    """JSON-lines file the local channel appends to; None keeps messages in memory only."""


class Channels(_Frozen):
    telegram: TelegramConfig = TelegramConfig()
    slack: SlackConfig = SlackConfig()
    webhook: WebhookConfig = WebhookConfig()
    email: EmailConfig = EmailConfig()
    local: LocalConfig = LocalConfig()


class NotifyConfig(_Frozen):
    quote_currency: str = "USDT"
    dedupe_window_s: float = Field(default=600, ge=0)
    max_block_s: float = Field(default=20.0, gt=0)
    """Longest a dispatch may take, all channels, retries and pacing included."""
    routes: dict[Severity, tuple[ChannelName, ...]]
    """Per severity, channels in fallback order: the first that succeeds wins."""
    mirror: tuple[ChannelName, ...] = ()
    """Channels that also get a copy of everything delivered (best effort, never raise)."""
    retry: RetryPolicy = RetryPolicy()
    channels: Channels = Channels()

    @model_validator(mode="after")
    def _routes_complete(self) -> NotifyConfig:
        missing = [s.value for s in Severity if s not in self.routes]
        if missing:
            raise ValueError(f"routes missing for severities {missing}")
        return self

    def route(self, severity: Severity) -> tuple[str, ...]:
        return self.routes[severity]

    def used_channels(self) -> set[str]:
        used = {name for names in self.routes.values() for name in names} | set(self.mirror)
        return {n for n in used if getattr(self.channels, n).enabled}

    def local_only(self, path: str | None) -> NotifyConfig:
        """The same config with every severity routed to the local channel only."""
        channels = self.channels.model_copy(update={"local": LocalConfig(enabled=True, path=path)})
        return self.model_copy(update={
            "routes": {s: ("local",) for s in Severity}, "mirror": (), "channels": channels,
        })


def parse(raw: dict, source: str = "notifications") -> NotifyConfig:
    try:
        return NotifyConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "<root>"
        raise ConfigError(f"{source}: {where}: {first['msg']}") from exc


def load(path: Path | str = CONFIG_PATH) -> NotifyConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read notification config {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping")
    return parse(raw, str(path))
