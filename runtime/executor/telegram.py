"""`POST /v1/telegram/webhook`: Telegram updates in, Bot API answers out.

Thin entrypoint: check `X-Telegram-Bot-Api-Secret-Token` in constant time (missing →
401, wrong → 403, nothing read or changed), parse the Update, run
`shared.notify.commands.handle_update`, then answer with sendMessage /
answerCallbackQuery. Once authenticated the answer is always 200, so Telegram does not
re-send an update forever: one we cannot read (not JSON, not an Update, nested deeper
than the JSON parser's recursion limit) is logged and ignored, one whose handling fails is
logged with the error and dropped (the operator sends the command again); a re-sent
update is skipped by its update_id anyway. In the executor app a body over its size limit
is 413 before anything reads it (Telegram's updates are far smaller).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shared.errors import TradewindsError
from shared.notify.channels.telegram import TelegramBotApi
from shared.notify.commands import CommandDeps, Reply, handle_update
from shared.notify.config import CONFIG_PATH
from shared.notify.config import load as load_config
from shared.notify.updates import Update
from shared.ports import Bus, Clock, Secrets, Store

log = logging.getLogger("tradewinds.executor.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class TelegramDeps:
    commands: CommandDeps
    bot: TelegramBotApi
    secrets: Secrets
    webhook_secret_name: str = "telegram-webhook-secret"


def telegram_router(deps: TelegramDeps) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/telegram/webhook", responses={
        200: {"description": "the update was taken (handled, or ignored and logged)"},
        401: {"description": "missing secret token"}, 403: {"description": "wrong secret token"},
        503: {"description": "the webhook secret is not configured"}})
    async def telegram_webhook(request: Request) -> dict:
        _authenticate(request.headers.get(SECRET_HEADER), deps)
        try:  # pydantic's JSON parser: a recursion limit, never a RecursionError
            update = Update.model_validate_json(await request.body())
        except (ValueError, ValidationError, RecursionError) as exc:
            log.warning("unreadable telegram update ignored", extra={"error": str(exc)[:200]})
            return {"ok": True}
        try:
            replies = await run_in_threadpool(handle_update, update, deps.commands)
            await run_in_threadpool(_answer, deps.bot, replies)
        except Exception as exc:
            log.exception("telegram update failed; dropped", extra={
                "update_id": update.update_id, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return {"ok": True}

    return router


def _authenticate(presented: str | None, deps: TelegramDeps) -> None:
    try:
        expected = deps.secrets.get(deps.webhook_secret_name)
    except KeyError:
        log.error("telegram webhook secret is not configured; refusing updates")
        raise HTTPException(status_code=503, detail="webhook not configured") from None
    if not presented:
        raise HTTPException(status_code=401, detail="missing secret token")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        log.warning("telegram webhook called with a wrong secret token")
        raise HTTPException(status_code=403, detail="wrong secret token")


def _answer(bot: TelegramBotApi, replies: list[Reply]) -> None:
    for reply in replies:
        try:
            if reply.callback_query_id:
                bot.answer_callback_query(reply.callback_query_id, reply.callback_text)
            if reply.chat_id is not None and reply.text:
                bot.send_message(reply.chat_id, reply.text)
        except TradewindsError as exc:
            log.error("telegram answer failed", extra={"chat_id": reply.chat_id,
                                                       "error": str(exc)[:200]})


def build_telegram_deps(store: Store, bus: Bus, clock: Clock, secrets: Secrets,
                        config_path: Path | str = CONFIG_PATH,
                        client: httpx.Client | None = None) -> TelegramDeps:
    """Composition helper for the executor app: config, bot client and command ports."""
    config = load_config(config_path)
    tg = config.channels.telegram
    bot = TelegramBotApi(secrets.get(tg.token_secret), client or httpx.Client(), tg.api_base,
                         tg.timeout_s)
    commands = CommandDeps(store=store, bus=bus, clock=clock, allowed_chats=tg.command_chats,
                           quote_currency=config.quote_currency)
    return TelegramDeps(commands=commands, bot=bot, secrets=secrets,
                        webhook_secret_name=tg.webhook_secret)
