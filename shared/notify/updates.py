"""The part of Telegram's Update object the webhook reads (unknown fields are ignored:
Telegram adds fields over time and every update must still be accepted)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Tg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class User(_Tg):
    id: int
    is_bot: bool = False
    first_name: str = ""
    username: str | None = None


class Chat(_Tg):
    id: int
    type: str = "private"


class TgMessage(_Tg):
    message_id: int
    chat: Chat
    from_user: User | None = Field(default=None, alias="from")
    date: int = 0
    text: str | None = None


class CallbackQuery(_Tg):
    id: str
    from_user: User = Field(alias="from")
    message: TgMessage | None = None
    data: str | None = None


class Update(_Tg):
    update_id: int
    message: TgMessage | None = None
    callback_query: CallbackQuery | None = None

    @property
    def chat_id(self) -> int | None:
        if self.message is not None:
            return self.message.chat.id
        if self.callback_query is not None and self.callback_query.message is not None:
            return self.callback_query.message.chat.id
        return None

    @property
    def user_id(self) -> int | None:
        if self.message is not None and self.message.from_user is not None:
            return self.message.from_user.id
        if self.callback_query is not None:
            return self.callback_query.from_user.id
        return None

    @property
    def actor(self) -> str:
        return f"telegram:{self.user_id}" if self.user_id is not None else "telegram:unknown"


def parse_command(text: str) -> tuple[str, str]:
    """'/halt@TradewindsBot  spread blew up' → ('halt', 'spread blew up'); '' when not one."""
    text = text.strip()
    if not text.startswith("/"):
        return "", text
    head, _, rest = text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), rest.strip()
