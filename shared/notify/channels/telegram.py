"""Telegram Bot API over httpx: the client (sendMessage, answerCallbackQuery) and the
notification channel (MarkdownV2 with an inline keyboard, one target per chat id).

Every call is `POST {api_base}/bot{token}/{method}` with a JSON body; the answer is
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after": n}}`. The token is part of the URL, so URLs are never
logged or put into error messages (and httpx's own request log is kept at WARNING).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from shared.contracts import Notification
from shared.errors import PermanentError, RateLimited, TransientError
from shared.notify.channels.base import post_json, retry_after
from shared.notify.config import RateLimit
from shared.notify.render import inline_keyboard, render_markdown, render_plain

log = logging.getLogger("tradewinds.notify.telegram")
DEFAULT_RATE = RateLimit()


class MarkupRejected(PermanentError):
    """Telegram could not parse the MarkdownV2 entities (400 can't parse entities)."""


class TelegramBotApi:
    def __init__(self, token: str, client: httpx.Client, api_base: str = "https://api.telegram.org",
                 timeout_s: float = 5.0):
        if not token:
            raise ValueError("empty Telegram bot token")
        self._url = f"{api_base.rstrip('/')}/bot{token}/"
        self.client = client
        self.timeout_s = timeout_s
        httpx_log = logging.getLogger("httpx")
        if httpx_log.getEffectiveLevel() < logging.WARNING:
            httpx_log.setLevel(logging.WARNING)  # its INFO line would print the token

    def call(self, method: str, payload: dict[str, Any], timeout: float | None = None) -> Any:
        what = f"telegram {method}"
        response = post_json(self.client, self._url + method, payload,
                             timeout or self.timeout_s, what)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        description = str(body.get("description", response.text[:200])) if isinstance(
            body, dict) else response.text[:200]
        code = body.get("error_code", response.status_code) if isinstance(body, dict) \
            else response.status_code
        if response.status_code == 429 or code == 429:
            raise RateLimited(f"{what}: {description}", retry_after=retry_after(response))
        if response.status_code >= 500:
            raise TransientError(f"{what}: HTTP {response.status_code} {description}")
        if "can't parse entities" in description:
            raise MarkupRejected(f"{what}: {description}")
        raise PermanentError(f"{what}: HTTP {response.status_code} {description}")

    def send_message(self, chat_id: int | str, text: str, parse_mode: str | None = "MarkdownV2",
                     reply_markup: dict[str, Any] | None = None,
                     timeout: float | None = None) -> Any:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text,
                                   "link_preview_options": {"is_disabled": True}}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_markup:
            payload["reply_markup"] = reply_markup
        return self.call("sendMessage", payload, timeout)

    def answer_callback_query(self, callback_query_id: str, text: str = "",
                              show_alert: bool = False, timeout: float | None = None) -> Any:
        payload: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            payload["text"] = text[:200]
        if show_alert:
            payload["show_alert"] = True
        return self.call("answerCallbackQuery", payload, timeout)


class TelegramChannel:
    name = "telegram"

    def __init__(self, api: TelegramBotApi, chat_ids: tuple[int, ...],
                 rate_limit: RateLimit | None = DEFAULT_RATE):
        if not chat_ids:
            raise ValueError("TelegramChannel needs at least one chat id")
        self.api = api
        self.chat_ids = chat_ids
        self.rate_limit = rate_limit
        self.timeout_s = api.timeout_s

    def targets(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.chat_ids)

    def send(self, notification: Notification, target: str, timeout: float) -> None:
        markup = inline_keyboard(notification)
        try:
            self.api.send_message(target, render_markdown(notification),
                                  reply_markup=markup, timeout=timeout)
        except MarkupRejected as exc:
            # Never lose an alert to a formatting bug: say it again without markup.
            log.error("telegram rejected MarkdownV2, sending plain text",
                      extra={"dedupe_key": notification.dedupe_key, "error": str(exc)})
            self.api.send_message(target, render_plain(notification), parse_mode=None,
                                  reply_markup=markup, timeout=timeout)
