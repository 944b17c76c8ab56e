"""Remote control from Telegram: what each command does, independent of HTTP.

Commands (allow-listed chats only): /status /pnl /positions /halt <reason> /resume
[reason] /mode /approve <job> /reject <job> /help, and the inline buttons
`approve:<job>` / `reject:<job>` of optimizer recommendations.

Every update is claimed once (`processed/telegram:<update_id>`), in the same transaction
as its state change and audit entry, so Telegram re-sending an update changes nothing.
/halt and /resume change `state/risk` (halted, halt_reason, halted_at, halted_by,
resumed_by, resume_reason, resumed_at) and, after commit, publish a Control (actor
"telegram:<user id>") to topic "control". /approve and /reject set
`optimizer_jobs/<job>` status "approved"/"rejected" with decided_by and decided_at; only a
job whose status is "recommended" can be decided. A chat that is not allow-listed gets a
polite refusal and an audit entry, nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from shared.contracts import Command, Control, derive_id, wrap
from shared.notify import markdown as md
from shared.notify import pnl_view, summary
from shared.notify.format import money, number, pct, quote_of, utc
from shared.notify.updates import Update, parse_command
from shared.ports import Bus, Clock, Store, Transaction
from shared.risk import state as risk_state

log = logging.getLogger("tradewinds.notify.commands")
JOBS, AUDIT, PROCESSED = "optimizer_jobs", "audit", "processed"
DECIDED = {"approve": "approved", "reject": "rejected"}
HELP = (
    ("/status", "halt flag, mode, today's figures"),
    ("/pnl", "PnL today and since start (change of NAV net of every cost)"),
    ("/positions", "open positions with marks"),
    ("/halt <reason>", "stop new trading now"),
    ("/resume [reason]", "resume trading after a halt"),
    ("/mode", "show the trading mode"),
    ("/approve <job>", "apply an optimizer recommendation"),
    ("/reject <job>", "discard an optimizer recommendation"),
    ("/help", "this list"),
)
REFUSAL = ("Sorry, this bot only takes commands from its operators' chats. "
           "This attempt has been logged.")


@dataclass(frozen=True)
class Reply:
    chat_id: int | None
    text: str  # MarkdownV2
    callback_query_id: str | None = None
    callback_text: str = ""


@dataclass
class CommandDeps:
    store: Store
    bus: Bus
    clock: Clock
    allowed_chats: frozenset[int]
    quote_currency: str = "USDT"
    control_topic: str = "control"


def handle_update(update: Update, deps: CommandDeps) -> list[Reply]:
    chat = update.chat_id
    if chat is None:
        return []  # an update kind we do not act on
    now = deps.clock.now()
    controls: list[Control] = []
    with deps.store.transaction() as tx:
        if not tx.create_if_absent(PROCESSED, f"telegram:{update.update_id}", {
                "consumer": "telegram", "at": now.isoformat(),
                "expires_at": (now + timedelta(days=7)).isoformat()}):
            log.info("telegram update already handled", extra={"update_id": update.update_id})
            return []
        if chat not in deps.allowed_chats:
            return [_refuse(update, chat, tx, deps)]
        text, callback_text = _route(update, tx, deps, controls)
    for ctl in controls:
        text += _publish(ctl, update, deps)
    callback = update.callback_query
    return [Reply(chat, text, callback.id if callback else None, callback_text)]


REBALANCE_DECIDED = {"rebalance_approve": "approved", "rebalance_reject": "rejected"}
REBALANCE_PLANS = "rebalance_plans"


def _route(update: Update, tx: Transaction, deps: CommandDeps,
           controls: list[Control]) -> tuple[str, str]:
    if update.callback_query is not None:
        action, _, job = (update.callback_query.data or "").partition(":")
        if action in DECIDED and job:
            text = _decide(job, DECIDED[action], update, tx, deps, controls)
            return text, f"{DECIDED[action].capitalize()} {job}"[:200]
        if action in REBALANCE_DECIDED and job:
            text = _decide_rebalance(job, REBALANCE_DECIDED[action], update, tx, deps)
            return text, f"Rebalance {REBALANCE_DECIDED[action]}"[:200]
        return md.escape("That button is not one of mine."), "Unknown action"
    command, arg = parse_command(update.message.text or "") if update.message else ("", "")
    if command in ("halt", "resume"):
        fn = _halt if command == "halt" else _resume
        return fn(arg, update, tx, deps, controls), ""
    if command in ("approve", "reject"):
        if not arg:
            return md.escape(f"Usage: /{command} <job id>"), ""
        return _decide(arg.split()[0], DECIDED[command], update, tx, deps, controls), ""
    readers = {"status": _status, "pnl": _pnl, "positions": _positions, "mode": _mode,
               "help": _help, "start": _help}
    if command in readers:
        return readers[command](tx, deps), ""
    return md.escape("I did not understand that. /help lists my commands."), ""


# -- state changes -----------------------------------------------------------------------
def _audit(tx: Transaction, update: Update, deps: CommandDeps, kind: str, **details) -> None:
    tx.put(AUDIT, f"telegram-{update.update_id}", {
        "kind": kind, "at": deps.clock.now().isoformat(), "actor": update.actor,
        "chat_id": update.chat_id, "update_id": update.update_id, **details})


def _halt(reason: str, update: Update, tx: Transaction, deps: CommandDeps,
          controls: list[Control]) -> str:
    now = deps.clock.now()
    reason = reason or "manual halt from Telegram"
    st = risk_state.load(tx)
    if st.halted:
        return md.escape(f"Already halted since {st.halted_at} by {st.halted_by}: {st.halt_reason}")
    risk_state.save(tx, st.halt(cause="manual", reason=reason, figures={},
                                actor=update.actor, at=now))
    _audit(tx, update, deps, "halt", reason=reason)
    controls.append(Control(command=Command.HALT, reason=reason, actor=update.actor,
                            args={"cause": "manual"}, issued_at=now))
    return f"🛑 {md.bold('Trading halted')}\n{md.escape(f'Reason: {reason}. By {update.actor}.')}"


def _resume(reason: str, update: Update, tx: Transaction, deps: CommandDeps,
            controls: list[Control]) -> str:
    now = deps.clock.now()
    st = risk_state.load(tx)
    if not st.halted:
        return md.escape("Trading is not halted: nothing to resume.")
    reason = reason or "resumed from Telegram"
    risk_state.save(tx, st.resume(actor=update.actor, reason=reason, at=now))
    _audit(tx, update, deps, "resume", reason=reason, was_halted_for=st.halt_reason)
    controls.append(Control(command=Command.RESUME, reason=reason, actor=update.actor,
                            issued_at=now))
    return f"✅ {md.bold('Trading resumed')}\n{md.escape(f'By {update.actor}: {reason}.')}"


def _decide(job_id: str, status: str, update: Update, tx: Transaction, deps: CommandDeps,
            controls: list[Control]) -> str:
    """Approve (apply a new parameter version, then tell the signal step to reload) or reject
    a recommended optimizer job; both go through the versioned-parameter module."""
    from shared.params import versions

    now = deps.clock.now()
    try:
        if status == "approved":
            applied = versions.approve(tx, job_id, actor=update.actor, at=now)
            controls.append(applied.control)
            detail = f" → {applied.strategy} v{applied.version}"
        else:
            versions.reject(tx, job_id, actor=update.actor, at=now, reason="rejected in Telegram")
            detail = ""
    except versions.ParamsError as exc:
        return md.escape(str(exc))
    strategy = (tx.get(JOBS, job_id) or {}).get("strategy", "?")
    _audit(tx, update, deps, f"optimizer_{status}", job_id=job_id, strategy=strategy)
    return md.escape(f"Job {job_id} ({strategy}) {status} by {update.actor}{detail}.")


def _decide_rebalance(plan_id: str, status: str, update: Update, tx: Transaction, deps: CommandDeps) -> str:
    """A live-mode rebalance plan is only proposed; a human approves or rejects it here."""
    plan = tx.get(REBALANCE_PLANS, plan_id)
    if plan is None:
        return md.escape(f"Unknown rebalance plan {plan_id}.")
    if plan.get("status") != "proposed":
        return md.escape(f"Rebalance plan {plan_id} is {plan.get('status')}: nothing to decide.")
    now = deps.clock.now()
    tx.put(REBALANCE_PLANS, plan_id, {**plan, "status": status, "decided_by": update.actor,
                                      "decided_at": now.isoformat()})
    _audit(tx, update, deps, f"rebalance_{status}", plan_id=plan_id)
    return md.escape(f"Rebalance plan {plan_id} {status} by {update.actor}.")


def _refuse(update: Update, chat: int, tx: Transaction, deps: CommandDeps) -> Reply:
    text = update.message.text if update.message else (update.callback_query.data or "")
    _audit(tx, update, deps, "telegram_refused", text=(text or "")[:100])
    log.warning("telegram command refused", extra={"chat_id": chat, "actor": update.actor})
    callback = update.callback_query
    return Reply(chat, md.escape(REFUSAL), callback.id if callback else None, "Not allowed")


def _publish(ctl: Control, update: Update, deps: CommandDeps) -> str:
    envelope = wrap(ctl, ts=deps.clock.now(),
                    id=derive_id(f"telegram-update-{update.update_id}", ctl.command.value))
    try:
        deps.bus.publish(deps.control_topic, envelope)
        return ""
    except Exception as exc:  # noqa: BLE001 - the state changed; tell the operator plainly
        log.error("control publish failed", extra={"command": ctl.command.value,
                                                    "error": repr(exc)})
        return "\n" + md.escape("Warning: the fleet was not notified; the state is saved. "
                                "Send the command again to re-publish.")


# -- read-only commands ------------------------------------------------------------------
def _status(tx: Transaction, deps: CommandDeps) -> str:
    st = risk_state.load(tx)
    q = deps.quote_currency
    lines = [f"🛑 {md.bold('Trading HALTED')}" if st.halted else f"🟢 {md.bold('Trading active')}"]
    if st.halted:
        lines.append(md.escape(f"Since {st.halted_at} by {st.halted_by}: {st.halt_reason}"))
    elif st.resumed_by:
        lines.append(md.escape(f"Last resumed {st.resumed_at} by {st.resumed_by}"))
    exposure, _ = summary.open_exposure(deps.store)
    lines += [md.escape(line) for line in (
        f"Mode: {st.mode}",
        f"Trading day: {st.trading_day or 'not started'}",
        f"Realised today: {money(Decimal(st.realised_today), q)}",
        f"Fees today: {money(-Decimal(st.fees_today), q)}",
        f"Open exposure: {money(exposure.get(q, Decimal(0)), q, signed=False)}",
        f"As of {utc(deps.clock.now())}",
    )]
    return "\n".join(lines)


def _pnl(tx: Transaction, deps: CommandDeps) -> str:
    """The one PnL (shared.ledger.nav), the same figure as /v1/pnl and the reports."""
    now, q = deps.clock.now(), deps.quote_currency
    view = pnl_view.current(deps.store, now, q)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = summary.summarise(deps.store, day_start, now, q)
    lines = [
        f"PnL today: {money(view.today, q)} over {today.trades} fills, win rate {pct(today.win_rate)}",
        f"PnL since start: {money(view.total, q)}, NAV {money(view.nav, q, signed=False)}",
        f"Volume today: {money(today.volume.get(q, Decimal(0)), q, signed=False)}",
    ]
    return f"📊 {md.bold('PnL')}\n" + "\n".join(md.escape(line) for line in lines)


def _positions(tx: Transaction, deps: CommandDeps) -> str:
    rows = []
    for _, doc in deps.store.query(summary.POSITIONS):
        qty = Decimal(str(doc.get("quantity") or 0))
        if not qty:
            continue
        quote = quote_of(str(doc.get("symbol", "")))
        avg = Decimal(str(doc.get("avg_cost") or 0))
        mark = Decimal(str(doc.get("mark_price") or 0)) or avg
        rows.append(f"{doc.get('venue')} {doc.get('symbol')} {number(qty)} @ {number(avg)}, "
                    f"mark {number(mark)}, uPnL {money((mark - avg) * qty, quote)}")
    if not rows:
        return md.escape("No open positions.")
    more = [f"… and {len(rows) - 20} more"] if len(rows) > 20 else []
    return f"📦 {md.bold('Open positions')}\n" + "\n".join(md.escape(r) for r in rows[:20] + more)


def _mode(tx: Transaction, deps: CommandDeps) -> str:
    mode = risk_state.load(tx).mode
    return md.escape(f"Mode: {mode}. Switching modes is done with the CLI, not from chat.")


def _help(tx: Transaction, deps: CommandDeps) -> str:
    return f"{md.bold('Commands')}\n" + "\n".join(
        f"{md.code(cmd)} {md.escape('- ' + what)}" for cmd, what in HELP)
