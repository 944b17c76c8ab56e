"""An arbitrage opportunity's plan, durable before its first leg is sent.

`LegExecutor.run` writes `arb_plans/{opportunity id}` (one write, in the claims store: the
store `ClaimedVenues` writes `order_claims/` to, outside any step's transaction) before it
sends a leg, and sends nothing when that write fails. The plan names the opportunity (id,
kind, key, home asset, edge, detection time) and every leg (client order id, venue, symbol,
side, quantity, limit and expected price), so a restart can rebuild the opportunity even when
its `arbitrage/` document (written behind) was lost. Once the outcome is final (every leg
known, and flat or its residual hedged) the plan is settled: deleted, written behind
(`settle` queues, `flush` writes). A plan left unsettled is what start-up recovery
(`resume_legs.resume_plans`) hedges.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from decimal import Decimal

from shared.contracts import Side
from shared.execution.claims import COLLECTION as CLAIMS
from shared.execution.opportunity import Leg, Opportunity
from shared.ports import Clock, Store

log = logging.getLogger("tradewinds.executor.plans")
COLLECTION = "arb_plans"


def doc_id(opp_id: str) -> str:
    return opp_id.replace("/", "-")  # a document id has no "/"


def plan_doc(opp: Opportunity, at: datetime) -> dict:
    return {"opportunity": opp.id, "kind": opp.kind, "key": opp.key, "home": opp.home,
            "gross_bps": str(opp.gross_bps), "net_bps": str(opp.net_bps),
            "expected_profit": str(opp.expected_profit), "notional_usd": str(opp.notional_usd),
            "detected_at": opp.detected_at.isoformat(), "at": at.isoformat(),
            "legs": [{"client_order_id": o.client_order_id, "venue": leg.venue, "symbol": leg.symbol,
                      "side": leg.side.value, "quantity": str(leg.quantity), "limit_price": str(leg.limit_price),
                      "expected_price": str(leg.expected_price), "touch": str(leg.touch)}
                     for leg, o in zip(opp.legs, opp.orders())]}


def opportunity_of(doc: dict) -> Opportunity:
    """The opportunity a plan describes; raises ValueError when its legs' client order ids
    are not the ones the rebuilt opportunity gives (a plan of another shape)."""
    opp = Opportunity(
        kind=doc["kind"], key=doc["key"], home=doc["home"],
        legs=tuple(Leg(leg["venue"], leg["symbol"], Side(leg["side"]), Decimal(leg["quantity"]),
                       Decimal(leg["expected_price"]), Decimal(leg["touch"]), Decimal(leg["limit_price"]))
                   for leg in doc["legs"]),
        gross_bps=Decimal(doc["gross_bps"]), net_bps=Decimal(doc["net_bps"]),
        expected_profit=Decimal(doc["expected_profit"]), notional_usd=Decimal(doc["notional_usd"]),
        detected_at=datetime.fromisoformat(doc["detected_at"]))
    if opp.id != doc["opportunity"] or [o.client_order_id for o in opp.orders()] != [
            leg["client_order_id"] for leg in doc["legs"]]:
        raise ValueError(f"plan {doc['opportunity']} does not rebuild to its own legs")
    return opp


class ArbPlans:
    """The plans in the claims store (see the module docstring)."""

    def __init__(self, claims: Store, clock: Clock):
        self.claims, self.clock = claims, clock
        self._settled: list[str] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # a flush returns once what was queued before it is written

    def write(self, opp: Opportunity) -> None:
        """Durable before the first leg is sent: one write; raises what the store raised."""
        self.claims.put(COLLECTION, doc_id(opp.id), plan_doc(opp, self.clock.now()))

    def settle(self, opp_id: str) -> None:
        """The outcome is final: the plan is deleted at the next `flush`."""
        with self._lock:
            self._settled.append(opp_id)

    def flush(self) -> int:
        """Delete the plans settled before this call; one that fails is kept for the next."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            todo, self._settled = self._settled, []
        done, failed = 0, []
        for opp_id in todo:
            try:
                self.claims.delete(COLLECTION, doc_id(opp_id))
                done += 1
            except Exception:  # noqa: BLE001 - an unsettled plan only makes the next start look again
                failed.append(opp_id)
        if failed:
            log.warning("arbitrage plans not settled yet", extra={"plans": failed})
            with self._lock:
                self._settled = failed + self._settled
        return done

    def unsettled(self) -> list[dict]:
        """Every plan not settled (nor queued to be), oldest first."""
        with self._lock:
            queued = {doc_id(i) for i in self._settled}
        return sorted((doc for i, doc in self.claims.query(COLLECTION) if i not in queued),
                      key=lambda d: d.get("at", ""))

    def claim(self, client_order_id: str) -> dict | None:
        """The order's claim: present when the order may have been sent."""
        return self.claims.get(CLAIMS, client_order_id)
