"""Operational messages: notifications, optimizer requests/results and control commands."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from shared.contracts.base import Message, UtcDatetime


class Severity(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Button(Message):
    text: str
    callback_data: str = Field(max_length=64)  # Telegram's limit


class Notification(Message):
    """Command: tell the humans. `dedupe_key` suppresses repeats inside a window."""

    TYPE: ClassVar[str] = "notification"
    kind: str  # startup, trade, risk_alert, hourly_summary, daily_report, optimizer, outage, ...
    severity: Severity = Severity.INFO
    title: str
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    dedupe_key: str
    created_at: UtcDatetime


class OptimizerRequest(Message):
    """Command: re-tune a strategy's parameters over a window of history."""

    TYPE: ClassVar[str] = "optimizer_request"
    strategy: str  # "*" for every enabled strategy
    reason: str  # drawdown, consecutive_losses, sharpe_floor, nightly, manual
    window_start: UtcDatetime
    window_end: UtcDatetime
    requested_by: str = "system"
    details: dict[str, str] = {}


class OptimizerResult(Message):
    """Event: a search finished; current versus recommended parameters and both reports."""

    TYPE: ClassVar[str] = "optimizer_result"
    job_id: str
    strategy: str
    status: str  # recommended, no_improvement, refused, failed
    current_params: dict[str, Any] = {}
    recommended_params: dict[str, Any] = {}
    current_report: dict[str, Any] = {}
    recommended_report: dict[str, Any] = {}
    note: str = ""
    finished_at: UtcDatetime


class Command(StrEnum):
    HALT = "halt"
    RESUME = "resume"
    SET_MODE = "set_mode"
    RELOAD_PARAMS = "reload_params"
    REBALANCE = "rebalance"
    DAILY_RESET = "daily_reset"
    HOURLY_SUMMARY = "hourly_summary"
    PANIC_CHECK = "panic_check"
    REWEIGHT = "reweight"


class Control(Message):
    """Command to the fleet: halt, resume, set_mode, reload_params, rebalance, daily_reset, ..."""

    TYPE: ClassVar[str] = "control"
    command: Command
    reason: str = ""
    actor: str = "system"
    args: dict[str, str] = {}
    issued_at: UtcDatetime | None = None
