"""Notifications: typed routing config, MarkdownV2 escaping, message building and
rendering, channels (Telegram, Slack, webhook, e-mail, local file), the dispatcher
(routing, retries, fallback, de-duplication, pacing) and ledger summaries."""

from shared.notify.render import render_markdown, render_plain, render_slack

__all__ = ["render_markdown", "render_plain", "render_slack"]
