"""Rebalance plans in the store: simulated transfers (paper) and proposals (live).

Paper: the plan is carried out as a simulated transfer. At departure the sending venue's
balance drops by `amount` and `balances/transit:{asset}` holds it (still part of the NAV);
on the first rebalance or panic-check tick at or after `arrives_at`, the receiving venue is
credited `amount - fee`, transit is emptied and the fee is booked (`pnl_days`, `ledger/totals`).
Live: the plan is written with status "proposed" and a notification with Approve/Reject
buttons (`rebalance_approve:<plan_id>` / `rebalance_reject:<plan_id>`) asks for a decision;
nothing is sent without one.

A drift is only carried out (or proposed) when the transfer's expected value beats k x its
fee (`shared.rebalance.value`, from the `evidence` of recent arbitrage capture the caller
gathers with `shared.rebalance.evidence.gather`); without evidence nothing moves. A declined
drift is counted and its reason kept (`shared.rebalance.costs`).

Documents: rebalance_plans/{plan_id} (the plan + status: in_transit → completed, or
proposed → approved/rejected), transfers/{plan_id} (paper: status pending → completed),
state/rebalance {open: {asset: plan_id}, pending: [plan_id]} (a transaction cannot query),
rebalance_costs/totals and /{day} (transfers, fees_usd, declined, by_asset), rebalance_skips/{asset}.
One open plan per asset at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from shared.contracts import Button, Message, Notification, Severity
from shared.ledger import book
from shared.ledger.money import to_quote
from shared.ports import Transaction
from shared.rebalance import costs
from shared.rebalance.config import RebalanceConfig
from shared.rebalance.evidence import CaptureEvidence
from shared.rebalance.plan import Plan
from shared.rebalance.value import Skip, decide

PLANS, TRANSFERS, INDEX = "rebalance_plans", "transfers", ("state", "rebalance")
ACTIVE = frozenset({"proposed", "approved", "in_transit"})
DECISION_TTL = timedelta(hours=24)
"""A live plan that is still only proposed, or approved for an operator to carry out, stops
blocking its asset after this long: the next check plans afresh from the balances."""
CALLBACK_APPROVE, CALLBACK_REJECT = "rebalance_approve", "rebalance_reject"


def _index(tx: Transaction) -> dict:
    doc = tx.get(*INDEX) or {}
    return {"open": dict(doc.get("open", {})), "pending": list(doc.get("pending", []))}


def busy_assets(tx: Transaction, now: datetime) -> set[str]:
    busy = set()
    for asset, plan_id in _index(tx)["open"].items():
        plan = tx.get(PLANS, plan_id)
        if not plan or plan.get("status") not in ACTIVE:
            continue
        waiting_on_people = plan["status"] in ("proposed", "approved")
        if waiting_on_people and datetime.fromisoformat(plan["created_at"]) + DECISION_TTL <= now:
            continue  # stale: plan again rather than block the asset for ever
        busy.add(asset)
    return busy


def check(tx: Transaction, *, venues: Iterable[str], cfg: RebalanceConfig, marks: Mapping[str, Decimal],
          quote: str, mode: str, now: datetime, evidence: CaptureEvidence | None = None) -> list[Message]:
    """Plan a transfer for every configured asset whose inventory drifted too far, when the
    capacity it restores is worth more than k x its fee (`evidence`: recent capture)."""
    out: list[Message] = []
    busy = busy_assets(tx, now)
    venues = tuple(venues)
    for asset, acfg in sorted(cfg.assets.items()):
        if asset in busy:
            continue
        holdings = {v: book.balance(tx, v, asset) for v in venues}
        try:
            mark = to_quote(Decimal(1), asset, marks, quote)
        except KeyError:
            continue  # no price for it yet: nothing sensible to plan
        plan = decide(asset, holdings, acfg, cfg, mark, evidence, now)
        if plan is None:
            continue
        if isinstance(plan, Skip):
            costs.note_skip(tx, plan, now)
            continue
        out.append(_start_paper(tx, plan, now) if mode == "paper" else _propose(tx, plan, now))
    return out


def _remember(tx: Transaction, plan: Plan, pending: bool) -> None:
    index = _index(tx)
    index["open"][plan.asset] = plan.plan_id
    if pending:
        index["pending"].append(plan.plan_id)
    tx.put(*INDEX, index)


def _audit(tx: Transaction, kind: str, plan_id: str, now: datetime, **details) -> None:
    tx.put("audit", f"{kind}-{plan_id}", {"kind": kind, "at": now.isoformat(), "plan_id": plan_id, **details})


def _fields(plan: Plan) -> tuple[tuple[str, str], ...]:
    return (("Asset", plan.asset), ("From", plan.from_venue), ("To", plan.to_venue),
            ("Amount", f"{plan.amount} {plan.asset}"), ("Drift", f"{plan.drift_pct}%"),
            ("Expected fee", f"{plan.fee} {plan.asset} (≈ {plan.fee_usd:.2f} USD)"),
            ("Expected time", f"{plan.transfer_minutes} min"),
            ("Expected value", f"≈ {plan.value_usd:.2f} USD ({plan.why})"))


def _start_paper(tx: Transaction, plan: Plan, now: datetime) -> Notification:
    book.move(tx, plan.from_venue, book.TRANSIT, plan.asset, plan.amount, "rebalance")
    tx.put(PLANS, plan.plan_id, {**plan.to_doc(), "mode": "paper", "status": "in_transit"})
    tx.put(TRANSFERS, plan.plan_id, {**plan.to_doc(), "status": "pending"})
    _remember(tx, plan, pending=True)
    _audit(tx, "rebalance_started", plan.plan_id, now, mode="paper", asset=plan.asset,
           amount=str(plan.amount), from_venue=plan.from_venue, to_venue=plan.to_venue)
    return Notification(kind="rebalance", title=f"Rebalance (paper): {plan.amount} {plan.asset}",
                        text=f"{plan.from_venue} → {plan.to_venue}, simulated transfer.",
                        fields=_fields(plan), dedupe_key=f"rebalance:{plan.plan_id}", created_at=now)


def _propose(tx: Transaction, plan: Plan, now: datetime) -> Notification:
    tx.put(PLANS, plan.plan_id, {**plan.to_doc(), "mode": "live", "status": "proposed"})
    _remember(tx, plan, pending=False)
    _audit(tx, "rebalance_proposed", plan.plan_id, now, mode="live", asset=plan.asset,
           amount=str(plan.amount), from_venue=plan.from_venue, to_venue=plan.to_venue)
    return Notification(
        kind="rebalance", severity=Severity.WARNING,
        title=f"Rebalance proposed: {plan.amount} {plan.asset}",
        text=f"{plan.from_venue} → {plan.to_venue}. Approve to send; nothing moves without it.",
        fields=_fields(plan), dedupe_key=f"rebalance:{plan.plan_id}", created_at=now,
        buttons=(Button(text="✅ Approve", callback_data=f"{CALLBACK_APPROVE}:{plan.plan_id}"),
                 Button(text="❌ Reject", callback_data=f"{CALLBACK_REJECT}:{plan.plan_id}")))


def complete_due(tx: Transaction, now: datetime, marks: Mapping[str, Decimal], quote: str) -> list[Message]:
    """Credit every simulated transfer whose delay has passed; book its fee."""
    index = _index(tx)
    still = []
    for plan_id in index["pending"]:
        doc = tx.get(TRANSFERS, plan_id)
        if not doc or doc["status"] != "pending":
            continue
        if datetime.fromisoformat(doc["arrives_at"]) > now:
            still.append(plan_id)
            continue
        amount, fee, asset = Decimal(doc["amount"]), Decimal(doc["fee"]), doc["asset"]
        book.adjust_balance(tx, book.TRANSIT, asset, -amount, "rebalance")
        book.adjust_balance(tx, doc["to_venue"], asset, amount - fee, "rebalance")  # the fee: a flow
        try:
            fee_usd = to_quote(fee, asset, marks, quote)
        except KeyError:
            fee_usd = Decimal(doc["fee_usd"])
        book.book_transfer_fee(tx, now.date().isoformat(), fee_usd)
        costs.book_transfer(tx, now.date().isoformat(), asset, amount, fee_usd)
        tx.put(TRANSFERS, plan_id, {**doc, "status": "completed", "completed_at": now.isoformat(),
                                    "fee_usd_booked": str(fee_usd)})
        plan = tx.get(PLANS, plan_id) or doc
        tx.put(PLANS, plan_id, {**plan, "status": "completed", "completed_at": now.isoformat()})
        _audit(tx, "rebalance_completed", plan_id, now, asset=asset, received=str(amount - fee),
               fee_usd=str(fee_usd), to_venue=doc["to_venue"])
    if still != index["pending"]:
        tx.put(*INDEX, {**index, "pending": still})
    return []
