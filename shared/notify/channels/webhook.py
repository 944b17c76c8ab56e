"""Generic JSON webhook: POST the notification contract plus its plain rendering."""

from __future__ import annotations

import httpx

from shared.contracts import Notification
from shared.notify.channels.base import post_json, raise_for_status
from shared.notify.render import to_json


class WebhookChannel:
    name = "webhook"
    rate_limit = None

    def __init__(self, url: str, client: httpx.Client, timeout_s: float = 5.0,
                 headers: dict[str, str] | None = None):
        if not url:
            raise ValueError("empty webhook URL")
        self._url = url
        self.client = client
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})

    def targets(self) -> tuple[str, ...]:
        return ("",)

    def send(self, notification: Notification, target: str, timeout: float) -> None:
        response = post_json(self.client, self._url, to_json(notification), timeout, "webhook",
                             headers=self.headers)
        raise_for_status(response, "webhook")
