"""Slack incoming webhook: POST the Block Kit payload; Slack answers 200 "ok".

Errors: 400 invalid_payload, 403 action_prohibited, 404 no_service, 410
channel_is_archived (permanent: fall back); 429 with Retry-After, 5xx (transient).
"""

from __future__ import annotations

import httpx

from shared.contracts import Notification
from shared.notify.channels.base import post_json, raise_for_status
from shared.notify.render import render_slack


class SlackChannel:
    name = "slack"
    rate_limit = None

    def __init__(self, url: str, client: httpx.Client, timeout_s: float = 5.0):
        if not url:
            raise ValueError("empty Slack webhook URL")
        self._url = url
        self.client = client
        self.timeout_s = timeout_s

    def targets(self) -> tuple[str, ...]:
        return ("",)

    def send(self, notification: Notification, target: str, timeout: float) -> None:
        response = post_json(self.client, self._url, render_slack(notification), timeout, "slack")
        raise_for_status(response, "slack")
