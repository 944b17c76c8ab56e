"""Build the enabled channels that some route uses, with their secrets, once at start-up.

A routed, enabled channel whose secret is missing is a ConfigError naming the secret; a
channel nobody routes to is not built (and needs no secret)."""

from __future__ import annotations

import httpx

from shared.errors import ConfigError
from shared.notify.channels.base import Channel
from shared.notify.channels.email import EmailChannel
from shared.notify.channels.local import LocalChannel
from shared.notify.channels.slack import SlackChannel
from shared.notify.channels.telegram import TelegramBotApi, TelegramChannel
from shared.notify.channels.webhook import WebhookChannel
from shared.notify.config import NotifyConfig
from shared.ports import Secrets


def _secret(secrets: Secrets, name: str, channel: str) -> str:
    try:
        return secrets.get(name)
    except KeyError as exc:
        raise ConfigError(f"notification channel {channel!r} needs secret {name!r}") from exc


def build_channels(config: NotifyConfig, secrets: Secrets,
                   client: httpx.Client | None = None) -> dict[str, Channel]:
    used = config.used_channels()
    http = client
    if http is None and used & {"telegram", "slack", "webhook"}:
        http = httpx.Client(follow_redirects=False)
    c = config.channels
    out: dict[str, Channel] = {}
    if "telegram" in used:
        if not c.telegram.chat_ids:
            raise ConfigError("channels.telegram.chat_ids is empty: set it or disable telegram")
        api = TelegramBotApi(_secret(secrets, c.telegram.token_secret, "telegram"), http,
                             c.telegram.api_base, c.telegram.timeout_s)
        out["telegram"] = TelegramChannel(api, c.telegram.chat_ids, c.telegram.rate_limit)
    if "slack" in used:
        out["slack"] = SlackChannel(_secret(secrets, c.slack.url_secret, "slack"), http,
                                    c.slack.timeout_s)
    if "webhook" in used:
        url = c.webhook.url or _secret(secrets, c.webhook.url_secret or "", "webhook")
        out["webhook"] = WebhookChannel(url, http, c.webhook.timeout_s, c.webhook.headers)
    if "email" in used:
        password = (_secret(secrets, c.email.password_secret, "email")
                    if c.email.password_secret else None)
        out["email"] = EmailChannel(c.email.host, c.email.port, c.email.sender,
                                    c.email.recipients, c.email.starttls, c.email.username,
                                    password, c.email.timeout_s)
    if "local" in used:
        # with a file, the file is the record: no copy kept in memory (a month of replay)
        out["local"] = LocalChannel(c.local.path, keep=not c.local.path)
    return out
