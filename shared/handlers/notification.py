"""The notification step: turn what happened into a message for the humans and deliver it.

Bodies:
- Notification → delivered as is, except `hourly_summary` and `daily_report`, whose
  figures are always computed from the ledger in the Store (the sender's text is kept); every
  PnL figure is the one computation (`shared.notify.pnl_view` over `shared.ledger.nav`);
- Execution → trade alert (PnL from the ledger's `executions/{execution_id}` when the
  risk step booked it already, else shown as "open");
- OptimizerResult → recommendation with Approve/Reject buttons (`approve:<job_id>`);
- Control hourly_summary / daily_reset → the hourly summary / daily report.

Delivery failures raise TransientError (bus redelivery, then dead letter). The handler
publishes nothing: it returns [].
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from shared.contracts import (
    Command,
    Control,
    Envelope,
    Execution,
    Message,
    Notification,
    OptimizerResult,
)
from shared.notify import format as fmt
from shared.notify import pnl_view, summary
from shared.notify.config import CONFIG_PATH, NotifyConfig
from shared.notify.config import load as load_config
from shared.notify.dispatcher import Dispatcher
from shared.ports import Clock, Secrets, Store, Transaction

log = logging.getLogger("tradewinds.notify.handler")
SUMMARY_KINDS = ("hourly_summary", "daily_report")


@dataclass
class NotificationDeps:
    dispatcher: Dispatcher
    clock: Clock
    store: Store
    config: NotifyConfig


def handle(body: Message, envelope: Envelope, tx: Transaction,
           deps: NotificationDeps) -> list[Message]:
    notification = to_notification(body, tx, deps)
    if notification is None:
        return []
    result = deps.dispatcher.dispatch(notification, tx=tx)
    log.info("notification handled", extra={
        "message_id": envelope.id, "kind": notification.kind, "status": result.status,
        "channel": result.channel, "dedupe_key": notification.dedupe_key})
    return []


def to_notification(body: Message, tx: Transaction, deps: NotificationDeps) -> Notification | None:
    if isinstance(body, Notification):
        return with_ledger_figures(body, deps, tx) if body.kind in SUMMARY_KINDS else body
    if isinstance(body, Execution):
        return fmt.trade_alert(body, _booked_pnl(tx, body))
    if isinstance(body, OptimizerResult):
        return fmt.optimizer_recommendation(body)
    if isinstance(body, Control):
        return _scheduled(body, deps, tx)
    log.warning("notification step ignores message type", extra={"type": body.TYPE})
    return None


def with_ledger_figures(n: Notification, deps: NotificationDeps, tx: Transaction | None = None) -> Notification:
    """Replace a summary's figures by the ledger's for its window; keep the sender's text."""
    built = _report(n.kind == "hourly_summary", n.created_at, deps, tx)
    text = " ".join(t for t in (n.text, built.text) if t)
    return built.model_copy(update={"text": text, "dedupe_key": n.dedupe_key,
                                    "severity": n.severity, "created_at": n.created_at})


def _report(hourly: bool, now, deps: NotificationDeps, tx: Transaction | None) -> Notification:
    """Activity from the executions of the window; every PnL figure from the one computation."""
    q = deps.config.quote_currency
    start, end = (summary.hour_window if hourly else summary.day_window)(now)
    view = (pnl_view.hourly(deps.store, tx, now, q) if hourly
            else pnl_view.daily(deps.store, start.date().isoformat(), now, q))
    s = summary.summarise(deps.store, start, end, q)
    s = replace(s, pnl={q: view.period}, commentary=summary.commentary(replace(s, pnl={q: view.period})))
    return fmt.hourly_summary(s, view) if hourly else fmt.daily_report(s, view)


def _scheduled(ctl: Control, deps: NotificationDeps, tx: Transaction | None = None) -> Notification | None:
    now = ctl.issued_at or deps.clock.now()
    if ctl.command is Command.HOURLY_SUMMARY:
        return _report(True, now, deps, tx)
    if ctl.command is Command.DAILY_RESET:
        return _report(False, now, deps, tx)
    return None


def _booked_pnl(tx: Transaction, ex: Execution) -> Decimal | None:
    doc = tx.get(summary.EXECUTIONS, ex.execution_id)
    if not doc or doc.get("realised_pnl") in (None, ""):
        return None
    try:
        value = Decimal(str(doc["realised_pnl"]))
    except InvalidOperation:
        return None
    return value if value != 0 else None


# -- composition -------------------------------------------------------------------------
def build_deps(store: Store, clock: Clock, secrets: Secrets,
               config_path: Path | str = CONFIG_PATH, local_dir: Path | str | None = None,
               sleep: Callable[[float], None] | None = None) -> NotificationDeps:
    """Wire the step once per instance. With `local_dir` every severity goes to the local
    channel only (`<local_dir>/notifications.jsonl`): no network, no secrets."""
    from shared.notify.channels.factory import build_channels

    config = load_config(config_path)
    if local_dir is not None:
        from shared.notify.channels.local import FILE_NAME
        config = config.local_only(str(Path(local_dir) / FILE_NAME))
    channels = build_channels(config, secrets)
    kwargs = {"sleep": sleep} if sleep is not None else {}
    dispatcher = Dispatcher(config, channels, store, clock, **kwargs)
    return NotificationDeps(dispatcher=dispatcher, clock=clock, store=store, config=config)


__all__ = ["NotificationDeps", "build_deps", "handle", "to_notification"]
