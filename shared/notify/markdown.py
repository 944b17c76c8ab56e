"""Telegram MarkdownV2 escaping.

Bot API rules (https://core.telegram.org/bots/api#markdownv2-style):
- in ordinary text, each of  _ * [ ] ( ) ~ ` > # + - = | { } . !  must be preceded by '\\';
  a literal backslash is itself escaped as '\\\\';
- inside `code` and ```pre``` only '`' and '\\' are escaped;
- inside the (...) of an inline link only ')' and '\\' are escaped.
Everything else (letters, digits, emoji, other Unicode) passes unchanged.
"""

from __future__ import annotations

import re

SPECIAL = "_*[]()~`>#+-=|{}.!"
_TEXT = re.compile(r"([\\" + re.escape(SPECIAL) + r"])")
_CODE = re.compile(r"([\\`])")
_URL = re.compile(r"([\\)])")


def escape(text: str) -> str:
    """Escape ordinary text so it renders literally."""
    return _TEXT.sub(r"\\\1", text)


def escape_code(text: str) -> str:
    """Escape text placed inside `code` or ```pre``` entities."""
    return _CODE.sub(r"\\\1", text)


def escape_url(url: str) -> str:
    return _URL.sub(r"\\\1", url)


def bold(text: str) -> str:
    return f"*{escape(text)}*"


def italic(text: str) -> str:
    return f"_{escape(text)}_"


def code(text: str) -> str:
    return f"`{escape_code(text)}`"


def link(text: str, url: str) -> str:
    return f"[{escape(text)}]({escape_url(url)})"
