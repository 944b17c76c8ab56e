"""The trading endpoints (`/v1/...`): request models and routes. Thin: validate, check
the scope, call the service, shape the answer.

Amounts travel as decimal strings (`"0.015"`: ASCII digits, an optional point, no sign,
exponent, `_` or other scripts' digits), never as JSON numbers, and the OpenAPI document
says so with a pattern. Every answer a route gives is declared in the document.

A manual order is valued at the venue's current book (the ask for a buy, the bid for a
sell; a limit on the far side of it counts at the limit), never at the client's
`reference_price`: an unknown venue, a symbol the venue does not list or an order worth
more than the size limit is a 422 and nothing is stored or sent; no current book is a 503.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from runtime.executor.auth import ADMIN, READ, Principal, TokenAuth
from runtime.executor.service import ExecutorService
from shared.contracts import Order, OrderSource, OrderType, Side, client_order_id

NAME = r"^[a-z0-9_\-]{1,32}$"
SYMBOL = r"^[A-Z0-9]{2,10}/[A-Z0-9]{2,10}$"
ORDER_ID = r"^[A-Za-z0-9_\-]{8,64}$"
DECIMAL = r"^[0-9]{1,12}(\.[0-9]{1,12})?$"  # ECMA and Python read it alike: ASCII only
DLQ_KEY = r"^[!-~]{1,300}$"  # printable ASCII, no space: `<subscription>:<message id>` or an id
_DECIMAL = re.compile(DECIMAL[1:-1])


def _decimal_string(value: Any) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise ValueError('must be a decimal string such as "0.015" (ASCII digits, at most 12 '
                         'before and 12 after the point)')
    return Decimal(value)


def _amount(description: str) -> Any:
    return Annotated[Decimal, BeforeValidator(_decimal_string),
                     WithJsonSchema({"type": "string", "pattern": DECIMAL, "description": description})]


Quantity = _amount("decimal string, > 0 and <= 1000000, e.g. \"0.015\"")
Price = _amount("decimal string, > 0 and <= 10000000, e.g. \"60125.5\"")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ManualOrder(_Strict):
    idempotency_key: str = Field(pattern=r"^[A-Za-z0-9_\-]{8,64}$",
                                 description="the same key never makes a second order")
    venue: str = Field(pattern=NAME, description="a configured venue")
    symbol: str = Field(pattern=SYMBOL, description="a symbol that venue lists")
    side: Side
    quantity: Quantity = Field(gt=0, le=Decimal(1_000_000))
    reference_price: Price | None = Field(
        default=None, gt=0, le=Decimal(10_000_000),
        description="informational only: the order is valued at the venue's current book")
    order_type: Literal["market", "limit_ioc", "twap", "iceberg"] = "market"
    limit_price: Price | None = Field(default=None, gt=0, le=Decimal(10_000_000))
    reduce_only: bool = False
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _limit(self) -> ManualOrder:
        if self.order_type == "limit_ioc" and self.limit_price is None:
            raise ValueError("limit_ioc needs limit_price")
        return self


class HaltRequest(_Strict):
    reason: str = Field(min_length=3, max_length=500)
    operator: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.@\-]{1,64}$")


class DlqQuery(_Strict):
    limit: int = Field(100, ge=1, le=1000)
    status: Literal["dead", "requeued"] = "dead"


class RequeueRequest(_Strict):
    keys: list[Annotated[str, Field(pattern=DLQ_KEY)]] | None = Field(default=None, max_length=1000)
    reason: str = Field(default="", max_length=500, description="why, for the audit trail")
    operator: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.@\-]{1,64}$")


class ErrorBody(BaseModel):
    """Every error answer: `error` always; `detail` on a refused action (e.g. "limits.max_order_usd:
    Input should be greater than 0"); `details` on an invalid request."""

    error: str
    detail: str | None = None
    details: list[dict[str, Any]] | None = None
    ref: str | None = None


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error answers a route can give (all `ErrorBody`)."""
    text = {400: "the body could not be read", 401: "missing or invalid bearer token",
            403: "the admin scope is needed", 404: "not found", 413: "the body is too large",
            422: "invalid request, or refused (unknown venue or symbol, size limit)",
            500: "internal error (with a reference to the log)", 503: "not available now"}
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


READ_ANSWERS = answers(401, 403, 500)
WRITE_ANSWERS = answers(400, 401, 403, 413, 422, 500)


def api_router(service: ExecutorService, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1")
    read, admin = Depends(auth.require(READ)), Depends(auth.require(ADMIN))

    @router.get("/positions", dependencies=[read], responses=READ_ANSWERS)
    def positions() -> dict:
        return {"positions": service.positions()}

    @router.get("/pnl", dependencies=[read], responses=READ_ANSWERS)
    def pnl() -> dict:
        return service.pnl()

    @router.get("/orders/{order_id}", dependencies=[read], responses=answers(401, 403, 404, 422, 500))
    def get_order(order_id: str = Path(pattern=ORDER_ID)) -> dict:
        doc = service.order(order_id)
        if doc is None:
            raise HTTPException(404, f"no order {order_id}")
        return doc

    @router.post("/orders", status_code=201, responses={
        201: {"description": "a new order: sent, or refused by the pre-trade checks (see `execution`)"},
        200: {"description": "the idempotency key was used before: that order, nothing sent"},
        **WRITE_ANSWERS, **answers(503)})
    def post_order(body: ManualOrder, who: Principal = admin):
        price = _valued(service, body)
        now = service.clock.now()
        order = Order(
            client_order_id=client_order_id(f"manual:{body.idempotency_key}"), venue=body.venue,
            symbol=body.symbol, side=body.side, quantity=body.quantity, order_type=OrderType(body.order_type),
            limit_price=body.limit_price, reference_price=price, reduce_only=body.reduce_only,
            source=OrderSource.MANUAL, strategy="manual", cause_id=f"{who.name}:{body.reason}"[:200],
            created_at=now)
        created, ex, record = service.submit(order)
        payload = {"client_order_id": order.client_order_id, "created": created, "order": record,
                   "execution": ex.model_dump(mode="json") if ex else None}
        return JSONResponse(payload, status_code=201 if created else 200)

    @router.post("/halt", responses=WRITE_ANSWERS)
    def halt(body: HaltRequest, who: Principal = admin) -> dict:
        return service.set_halt(True, body.operator and f"{who.name}:{body.operator}" or who.name, body.reason)

    @router.post("/resume", responses=WRITE_ANSWERS)
    def resume(body: HaltRequest, who: Principal = admin) -> dict:
        return service.set_halt(False, body.operator and f"{who.name}:{body.operator}" or who.name, body.reason)

    @router.get("/dlq", dependencies=[read], responses={**READ_ANSWERS, **answers(422, 503)})
    def dlq(query: Annotated[DlqQuery, Query()]) -> dict:
        if service.dlq is None:
            raise HTTPException(503, "no dead-letter store configured")
        items = service.dlq.dead_letters(query.status)[:query.limit]
        return {"count": len(items), "items": [{k: v for k, v in d.items() if k != "envelope"} for d in items]}

    @router.post("/dlq/requeue", responses={**WRITE_ANSWERS, **answers(503)})
    def requeue(body: RequeueRequest, who: Principal = admin) -> dict:
        if service.dlq is None:
            raise HTTPException(503, "no dead-letter store configured")
        count = service.dlq.requeue(body.keys)
        now = service.clock.now()
        actor = body.operator and f"{who.name}:{body.operator}" or who.name
        service.store.put("audit", f"dlq-requeue-{now.strftime('%Y%m%dT%H%M%S%f')}", {
            "kind": "dlq_requeue", "at": now.isoformat(), "actor": actor, "reason": body.reason,
            "keys": body.keys, "requeued": count})
        return {"requeued": count}

    return router


def _valued(service: ExecutorService, body: ManualOrder) -> Decimal:
    """The book price the order is valued at; refuses what the venue cannot take or the
    size limit does not allow (a halt is left to the executor, which records the refusal)."""
    try:
        price, usd_per_quote = service.manual_valuation(body.venue, body.symbol, body.side)
    except LookupError as exc:
        raise HTTPException(422, str(exc.args[0] if exc.args else exc)) from None
    if price is None:
        raise HTTPException(503, f"no current book for {body.symbol} on {body.venue}")
    worst = max(price, body.limit_price) if body.limit_price is not None else price
    if body.reduce_only:  # spot is long-only: only a sell within the position held reduces
        held = Decimal(str((service.store.get("positions", f"{body.venue}:{body.symbol}") or {}).get("quantity") or 0))
        if body.side is not Side.SELL or body.quantity > held:
            raise HTTPException(422, f"reduce_only is for a sell of at most the position held "
                                     f"({held} {body.symbol.split('/')[0]} on {body.venue})")
    if usd_per_quote is not None:
        refused = [r for r in service.gate.check(body.quantity * worst * usd_per_quote, reduces=body.reduce_only)
                   if not r.startswith("halted")]
        if refused:
            raise HTTPException(422, "order refused: " + "; ".join(refused))
    return price
