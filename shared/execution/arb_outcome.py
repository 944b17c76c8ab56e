"""What an executed opportunity came to: its legs, hedges, residual and value
(`ArbOutcome`), and the net change per asset its fills make (`asset_deltas`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from shared.contracts import Execution, Side
from shared.execution.opportunity import ZERO, Opportunity
from shared.execution.routing import outcome_unknown


@dataclass
class ArbOutcome:
    opportunity: Opportunity
    legs: list[Execution]
    hedges: list[Execution] = field(default_factory=list)
    residual: dict[str, Decimal] = field(default_factory=dict)  # after hedging (0 = flat)
    realised: Decimal = ZERO       # in the home asset, residuals valued at the mid
    legging_loss: Decimal = ZERO   # in the home asset
    fill_ratio: Decimal = ZERO
    unresolved: list[str] = field(default_factory=list)  # legs whose outcome is unknown
    settled_late: bool = False     # the legs' outcome became known after `run` returned

    @property
    def executions(self) -> list[Execution]:
        return self.legs + self.hedges

    @property
    def known(self) -> list[Execution]:
        """The executions that may be booked: an unknown outcome is settled later."""
        return [e for e in self.executions if not outcome_unknown(e)]

    @property
    def flat(self) -> bool:
        return not self.unresolved and all(v == 0 for v in self.residual.values())

    def to_doc(self) -> dict:
        return {**self.opportunity.to_doc(), "realised": str(self.realised),
                "legging_loss": str(self.legging_loss), "fill_ratio": str(self.fill_ratio),
                "residual": {k: str(v) for k, v in self.residual.items()},
                "legs": [e.client_order_id for e in self.legs],
                "hedges": [e.client_order_id for e in self.hedges], "flat": self.flat,
                "unresolved": list(self.unresolved), "settled_late": self.settled_late}


def asset_deltas(executions: list[Execution]) -> dict[str, Decimal]:
    """Net change per asset from the fills (fees charged in the quote, as the venues do)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for ex in executions:
        if ex.filled_quantity <= 0:
            continue
        base, quote = ex.symbol.split("/")
        notional = ex.filled_quantity * ex.price
        sign = 1 if ex.side is Side.BUY else -1
        out[base] += sign * ex.filled_quantity
        out[quote] += -sign * notional - ex.fee
    return out
