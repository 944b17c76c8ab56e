"""Operational messages: notifications, optimizer requests/results and control commands."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, model_validator

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
    """Command: re-tune a strategy's parameters over a window of history.

    The window is either explicit (`window_start`, `window_end`) or `window_days` ending at
    `window_end` — or, when that is absent too (a Cloud Scheduler payload), at the time of
    the message: `resolved(envelope.ts)` fixes it deterministically."""

    TYPE: ClassVar[str] = "optimizer_request"
    strategy: str  # "*" for every enabled strategy
    reason: str  # drawdown, consecutive_losses, sharpe_floor, nightly, manual
    window_start: UtcDatetime | None = None
    window_end: UtcDatetime | None = None
    window_days: float | None = Field(default=None, gt=0, le=3650)
    requested_by: str = "system"
    details: dict[str, str] = {}

    @model_validator(mode="after")
    def _window(self) -> OptimizerRequest:
        if self.window_start is not None and self.window_end is not None:
            if self.window_start >= self.window_end:
                raise ValueError("window_start must be before window_end")
        elif self.window_days is None or self.window_start is not None:
            raise ValueError("give window_start and window_end, or window_days (optionally with window_end)")
        return self

    def resolved(self, at: datetime) -> OptimizerRequest:
        """The same request with an explicit window (ending at `at` unless it says otherwise)."""
        if self.window_start is not None and self.window_end is not None:
            return self
        end = self.window_end or at
        return self.model_copy(update={"window_start": end - timedelta(days=self.window_days), "window_end": end})


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
