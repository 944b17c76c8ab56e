"""Render a Notification for each medium: Telegram MarkdownV2, Slack, plain text.

Text is cut before escaping so the 4096-character Telegram limit is never crossed and
an escape sequence is never split.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import Notification, Severity
from shared.notify import markdown as md
from shared.notify.format import utc

MAX_TEXT = 3000
MAX_FIELDS = 40
_KIND_ICON = {
    "startup": "🚀", "trade": "💱", "risk_alert": "🛑", "hourly_summary": "📊",
    "daily_report": "📅", "optimizer": "🧪", "outage": "⚠️",
}
_SEVERITY_ICON = {Severity.CRITICAL: "🚨", Severity.WARNING: "⚠️"}


def icon(n: Notification) -> str:
    if n.kind == "risk_alert" and n.severity is not Severity.CRITICAL:
        return "✅"
    return _SEVERITY_ICON.get(n.severity) or _KIND_ICON.get(n.kind, "ℹ️")


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_markdown(n: Notification) -> str:
    """Telegram MarkdownV2: bold title, escaped text, 'Label: value' lines, UTC time."""
    lines = [f"{icon(n)} {md.bold(_cut(n.title, 200))}"]
    if n.text:
        lines.append(md.escape(_cut(n.text)))
    if n.fields:
        lines.append("")
        lines += [f"{md.bold(_cut(k, 60) + ':')} {md.escape(_cut(v, 300))}"
                  for k, v in n.fields[:MAX_FIELDS]]
    lines.append(md.italic(utc(n.created_at)))
    return "\n".join(lines)


def inline_keyboard(n: Notification) -> dict[str, Any] | None:
    """Telegram reply_markup with the notification's buttons on one row, or None."""
    if not n.buttons:
        return None
    return {"inline_keyboard": [[
        {"text": b.text, "callback_data": b.callback_data} for b in n.buttons
    ]]}


def render_plain(n: Notification) -> str:
    """Console/e-mail text: '[INFO] 2024-05-01 12:00 UTC  Title' then text and fields."""
    lines = [f"[{n.severity.value.upper()}] {utc(n.created_at)}  {icon(n)} {n.title}"]
    if n.text:
        lines.append(f"  {n.text}")
    width = max((len(k) for k, _ in n.fields), default=0)
    lines += [f"  {k + ':':<{width + 1}} {v}" for k, v in n.fields]
    if n.buttons:
        lines.append("  actions: " + ", ".join(f"{b.text} [{b.callback_data}]" for b in n.buttons))
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(n: Notification) -> dict[str, Any]:
    """Incoming-webhook payload: `text` fallback plus Block Kit blocks."""
    title = f"{icon(n)} {n.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150)}},
    ]
    if n.text:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _slack_escape(_cut(n.text))}})
    # A section holds at most 10 fields.
    for i in range(0, min(len(n.fields), MAX_FIELDS), 10):
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(_cut(v, 300))}"}
            for k, v in n.fields[i:i + 10]
        ]})
    if n.buttons:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(
            "Decide in Telegram or with the CLI: "
            + ", ".join(b.callback_data for b in n.buttons))}]})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"{n.severity.value.upper()} · {utc(n.created_at)}"}]})
    return {"text": _slack_escape(f"{title}: {n.text}" if n.text else title), "blocks": blocks}


def to_json(n: Notification) -> dict[str, Any]:
    """The generic webhook / local-file document: the contract plus the plain rendering."""
    return {**n.model_dump(mode="json"), "rendered": render_plain(n)}
