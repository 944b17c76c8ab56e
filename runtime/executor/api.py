"""The trading endpoints (`/v1/...`): request models and routes. Thin: validate, check
the scope, call the service, shape the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.executor.auth import ADMIN, READ, Principal, TokenAuth
from runtime.executor.service import ExecutorService
from shared.contracts import Order, OrderSource, OrderType, Side, client_order_id

NAME = r"^[a-z0-9_\-]{1,32}$"
SYMBOL = r"^[A-Z0-9]{2,10}/[A-Z0-9]{2,10}$"
ORDER_ID = r"^[A-Za-z0-9_\-]{8,64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ManualOrder(_Strict):
    idempotency_key: str = Field(pattern=r"^[A-Za-z0-9_\-]{8,64}$",
                                 description="the same key never makes a second order")
    venue: str = Field(pattern=NAME)
    symbol: str = Field(pattern=SYMBOL)
    side: Side
    quantity: Decimal = Field(gt=0, le=Decimal(1_000_000), max_digits=24, decimal_places=12)
    reference_price: Decimal = Field(gt=0, le=Decimal(10_000_000), max_digits=24, decimal_places=12)
    order_type: Literal["market", "limit_ioc", "twap", "iceberg"] = "market"
    limit_price: Decimal | None = Field(default=None, gt=0, le=Decimal(10_000_000), max_digits=24,
                                        decimal_places=12)
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


class RequeueRequest(_Strict):
    keys: list[str] | None = Field(default=None, max_length=1000)


def api_router(service: ExecutorService, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1")
    read, admin = Depends(auth.require(READ)), Depends(auth.require(ADMIN))

    @router.get("/positions", dependencies=[read])
    def positions() -> dict:
        return {"positions": service.positions()}

    @router.get("/pnl", dependencies=[read])
    def pnl() -> dict:
        return service.pnl()

    @router.get("/orders/{order_id}", dependencies=[read])
    def get_order(order_id: str = Path(pattern=ORDER_ID)) -> dict:
        doc = service.order(order_id)
        if doc is None:
            raise HTTPException(404, f"no order {order_id}")
        return doc

    @router.post("/orders", status_code=201)
    def post_order(body: ManualOrder, who: Principal = admin):
        now = service.clock.now()
        order = Order(
            client_order_id=client_order_id(f"manual:{body.idempotency_key}"), venue=body.venue,
            symbol=body.symbol, side=body.side, quantity=body.quantity, order_type=OrderType(body.order_type),
            limit_price=body.limit_price, reference_price=body.reference_price, reduce_only=body.reduce_only,
            source=OrderSource.MANUAL, strategy="manual", cause_id=f"{who.name}:{body.reason}"[:200],
            created_at=now)
        created, ex, record = service.submit(order)
        payload = {"client_order_id": order.client_order_id, "created": created, "order": record,
                   "execution": ex.model_dump(mode="json") if ex else None}
        return JSONResponse(payload, status_code=201 if created else 200)

    @router.post("/halt")
    def halt(body: HaltRequest, who: Principal = admin) -> dict:
        return service.set_halt(True, body.operator and f"{who.name}:{body.operator}" or who.name, body.reason)

    @router.post("/resume")
    def resume(body: HaltRequest, who: Principal = admin) -> dict:
        return service.set_halt(False, body.operator and f"{who.name}:{body.operator}" or who.name, body.reason)

    @router.get("/dlq", dependencies=[read])
    def dlq(limit: int = Query(100, ge=1, le=1000),
            status: Literal["dead", "requeued"] = "dead") -> dict:
        if service.dlq is None:
            raise HTTPException(503, "no dead-letter store configured")
        items = service.dlq.dead_letters(status)[:limit]
        return {"count": len(items), "items": [{k: v for k, v in d.items() if k != "envelope"} for d in items]}

    @router.post("/dlq/requeue", dependencies=[admin])
    def requeue(body: RequeueRequest) -> dict:
        if service.dlq is None:
            raise HTTPException(503, "no dead-letter store configured")
        return {"requeued": service.dlq.requeue(body.keys)}

    return router
