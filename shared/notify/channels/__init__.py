"""Notification channels: Telegram, Slack, generic webhook, e-mail and the local sink."""

from shared.notify.channels.base import Channel
from shared.notify.channels.local import LocalChannel, read_notifications

__all__ = ["Channel", "LocalChannel", "read_notifications"]
