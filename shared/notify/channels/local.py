"""LocalChannel: the local run's notification sink. Keeps every delivered notification
in memory and, with a path, appends it as one JSON line (the contract plus its plain
rendering) so `tradewinds run --show-notifications` can print them afterwards."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

from shared.contracts import Notification
from shared.notify.render import to_json

FILE_NAME = "notifications.jsonl"


class LocalChannel:
    name = "local"
    rate_limit = None
    timeout_s = 1.0

    def __init__(self, path: Path | str | None = None, keep: bool = True):
        self.path = Path(path) if path else None
        self.keep = keep
        self.messages: list[Notification] = []
        self._lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def targets(self) -> tuple[str, ...]:
        return ("",)

    def send(self, notification: Notification, target: str = "", timeout: float = 1.0) -> None:
        line = json.dumps(to_json(notification), ensure_ascii=False)
        with self._lock:
            if self.keep:
                self.messages.append(notification)
            if self.path:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")


def read_notifications(path: Path | str, kinds: set[str] | None = None) -> Iterator[Notification]:
    """Notifications written by a LocalChannel, oldest first, optionally of some kinds."""
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            n = Notification.model_validate(json.loads(line))
            if kinds is None or n.kind in kinds:
                yield n
