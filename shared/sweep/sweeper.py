"""Carrying out a due cold sweep, inside the risk step's transaction.

- The destination must be the configured cold wallet AND on the allow-list (exact match);
  otherwise nothing moves: a critical notification and an audit entry say why.
- Paper: the sweep is recorded (`sweeps/{id}`, status "recorded") and the swept asset moves
  from the venues (richest first) to `balances/cold:{asset}`, the cold wallet.
- Live: needs `sweep.live_enabled` and a Withdrawer for the venue; ONE withdrawal from the
  richest venue per check (the rest follows on later checks). A failed call is recorded as
  "failed", alerted, and blocks further live sweeps (`state/sweep`) until an operator has
  checked the venue and cleared it: a blind retry could send twice.
Every sweep (and every refusal) is notified and audited. The cold wallet is part of NAV
(`shared.ledger.nav`): a sweep moves capital, it is neither PnL nor a loss for the brake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.contracts import Message, Notification, Severity
from shared.ledger import book
from shared.ledger.money import to_quote
from shared.ports import Store, Transaction
from shared.sweep.config import SweepConfig
from shared.sweep.policy import SweepDue, allowed, due, gbp_rate
from shared.sweep.port import Withdrawer

SWEEPS = "sweeps"
CLAIM = ("sweep_claims", "inflight")  # outside the risk step's transaction: survives its rollback
BLOCK = ("state", "sweep")
ZERO = Decimal(0)


@dataclass(frozen=True)
class SweepOutcome:
    messages: list[Message] = field(default_factory=list)
    swept_usd: Decimal = ZERO


def unswept_profit(tx: Transaction) -> Decimal:
    t = book.totals(tx)
    return t["realised_pnl_usd"] - t["transfer_fees_usd"] - t["swept_usd"]


def _stored_gbp_marks(tx: Transaction, cfg: SweepConfig) -> dict[str, dict]:
    """The GBP mark docs (marks/GBP-USDT, marks/USDT-GBP): reference prices, read without a
    conflict like every mark."""
    base, _, quote = cfg.gbp_mark.partition("/")
    out = {}
    for symbol in (cfg.gbp_mark, f"{quote}/{base}"):
        doc = tx.peek("marks", symbol.replace("/", "-"))
        if doc:
            out[symbol] = doc
    return out


def check(tx: Transaction, *, venues: Iterable[str], marks: Mapping[str, Decimal], quote: str,
          nav: Decimal, mode: str, cfg: SweepConfig, now: datetime,
          withdrawers: Mapping[str, Withdrawer] | None = None, claims: Store | None = None) -> SweepOutcome:
    if not cfg.enabled:
        return SweepOutcome()
    rate = gbp_rate(marks, cfg, _stored_gbp_marks(tx, cfg), now)
    found = due(unswept_profit(tx), nav, rate.rate, cfg, rate.source)
    if found is None:
        return SweepOutcome()
    wallet = cfg.cold_wallet
    if wallet is None or not allowed(wallet.address, cfg.allow_list):
        address = wallet.address if wallet else "(none configured)"
        return _refused(tx, now, found, f"destination {address} is not on the sweep allow-list")
    unit_usd = to_quote(Decimal(1), cfg.asset, marks, quote)
    holdings = sorted(((book.balance(tx, v, cfg.asset), v) for v in venues), key=lambda hv: (-hv[0], hv[1]))
    if mode != "paper":
        return _live(tx, now, found, cfg, holdings, unit_usd, withdrawers or {}, claims)
    remaining, legs = found.amount / unit_usd, []
    for held, venue in holdings:
        take = min(held, remaining)
        if take > 0:
            legs.append((venue, take))
            remaining -= take
    if not legs:
        return _refused(tx, now, found, f"no {cfg.asset} balance to sweep from")
    for venue, take in legs:  # into the cold wallet: still ours, still in NAV
        book.move(tx, venue, book.COLD, cfg.asset, take, "sweep")
    amount = sum((take for _, take in legs), ZERO)
    return _record(tx, now, found, cfg, amount, amount * unit_usd, "recorded", mode,
                   legs=[{"venue": v, "amount": str(a)} for v, a in legs])


def _live(tx, now, found: SweepDue, cfg: SweepConfig, holdings, unit_usd, withdrawers,
          claims: Store | None) -> SweepOutcome:
    if not cfg.live_enabled:
        return _refused(tx, now, found, "live sweeping is not enabled (sweep.live_enabled)")
    if claims is None:
        return _refused(tx, now, found, "live sweeping needs a claims store (a claim before every withdrawal)")
    claim = claims.get(*CLAIM)
    if claim is not None:  # an earlier withdrawal was claimed: did its record commit?
        if tx.get(SWEEPS, claim["sweep_id"]) is None:
            tx.put(*BLOCK, {"blocked_by": claim["sweep_id"], "at": now.isoformat()})
            return _refused(tx, now, found, f"sweep {claim['sweep_id']} may have been sent but was never "
                                            "recorded; check the venue, then clear state/sweep and sweep_claims")
        claims.delete(*CLAIM)  # recorded: that one is done
    blocked = (tx.get(*BLOCK) or {}).get("blocked_by")
    if blocked:
        return _refused(tx, now, found, f"sweep {blocked} failed; check the venue and clear state/sweep")
    held, venue = holdings[0] if holdings else (ZERO, "")
    amount = min(held, found.amount / unit_usd)
    if amount <= 0:
        return _refused(tx, now, found, f"no {cfg.asset} balance to sweep from")
    withdrawer = withdrawers.get(venue)
    if withdrawer is None:
        return _refused(tx, now, found, f"no withdrawal client for venue {venue}")
    sweep_id = f"sweep-{now:%Y%m%dT%H%M}"
    if not claims.create_if_absent(*CLAIM, {"sweep_id": sweep_id, "venue": venue, "amount": str(amount),
                                            "at": now.isoformat()}):
        return _refused(tx, now, found, "another sweep holds the claim; not sent")
    wallet = cfg.cold_wallet
    params = {"network": wallet.network} if wallet.network else {}
    try:
        result = withdrawer.withdraw(cfg.asset, amount, wallet.address, wallet.tag, params)
    except Exception as exc:  # noqa: BLE001 - recorded and alerted; never retried blindly
        tx.put(*BLOCK, {"blocked_by": f"sweep-{now:%Y%m%dT%H%M}", "at": now.isoformat()})
        return _record(tx, now, found, cfg, amount, ZERO, "failed", "live",
                       legs=[{"venue": venue, "amount": str(amount)}], error=str(exc)[:300])
    book.move(tx, venue, book.COLD, cfg.asset, amount, "sweep")
    return _record(tx, now, found, cfg, amount, amount * unit_usd, "sent", "live",
                   legs=[{"venue": venue, "amount": str(amount), "txid": str(result.get("id", ""))}])


def _record(tx, now, found: SweepDue, cfg: SweepConfig, amount: Decimal, swept_usd: Decimal,
            status: str, mode: str, legs: list[dict], error: str = "") -> SweepOutcome:
    sweep_id = f"sweep-{now:%Y%m%dT%H%M}"
    doc = {"sweep_id": sweep_id, "status": status, "mode": mode, "asset": cfg.asset,
           "amount": str(amount), "amount_usd": str(swept_usd), "address": cfg.cold_wallet.address,
           "legs": legs, "at": now.isoformat(), "error": error, **found.figures()}
    tx.put(SWEEPS, sweep_id, doc)
    if swept_usd > 0:
        book.add_totals(tx, swept_usd=swept_usd)
    tx.put("audit", f"sweep-{sweep_id}", {"kind": f"sweep_{status}", **doc})
    failed = status == "failed"
    fields = (("Amount", f"{amount} {cfg.asset}"), ("To", cfg.cold_wallet.address),
              ("Reason", found.reason), ("Realised profit", f"{found.profit:.2f}"),
              ("Threshold £→USD", f"{found.gbp_threshold:.2f} (rate {found.gbp_rate}, {found.gbp_rate_source})"),
              ("NAV", f"{found.nav:.2f}"), ("From", ", ".join(leg["venue"] for leg in legs)))
    note = Notification(
        kind="sweep", severity=Severity.CRITICAL if failed else Severity.WARNING,
        title=f"Cold sweep {status}: {amount} {cfg.asset}" + (" (paper)" if mode == "paper" else ""),
        text=error or f"Realised profit swept to the cold wallet ({found.reason}).",
        fields=fields, dedupe_key=f"sweep:{sweep_id}:{status}", created_at=now)
    return SweepOutcome([note], swept_usd)


def _refused(tx, now, found: SweepDue, why: str) -> SweepOutcome:
    day = now.date().isoformat()
    created = tx.create_if_absent("audit", f"sweep-refused-{day}-{hashlib.sha1(why.encode()).hexdigest()[:10]}", {
        "kind": "sweep_refused", "at": now.isoformat(), "why": why, **found.figures()})
    if not created:
        return SweepOutcome()  # said once a day is enough
    return SweepOutcome([Notification(
        kind="sweep", severity=Severity.CRITICAL, title="Cold sweep due but NOT sent", text=why,
        fields=tuple(found.figures().items()), dedupe_key=f"sweep:refused:{day}:{why[:40]}",
        created_at=now)])
