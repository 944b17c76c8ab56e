"""A SQLite document store: collections of JSON documents with transactions and
create-if-absent. File-backed by default so a run can be inspected and resumed;
`:memory:` for tests."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.adapters.query import select
from shared.ports import Document, Where

_DELETED = object()


class SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._writes: dict[tuple[str, str], Any] = {}

    def get(self, collection: str, doc_id: str) -> Document | None:
        key = (collection, doc_id)
        if key in self._writes:
            data = self._writes[key]
            return None if data is _DELETED else json.loads(data)
        return SqliteStore._read(self._conn, collection, doc_id)

    def peek(self, collection: str, doc_id: str) -> Document | None:
        return self.get(collection, doc_id)  # one writer at a time: nothing can conflict

    def put(self, collection: str, doc_id: str, data: Document) -> None:
        # serialised once, at put time: later changes to `data` cannot leak into the store
        self._writes[(collection, doc_id)] = json.dumps(data, default=str, separators=(",", ":"))

    def delete(self, collection: str, doc_id: str) -> None:
        self._writes[(collection, doc_id)] = _DELETED

    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        if self.get(collection, doc_id) is not None:
            return False
        self.put(collection, doc_id, data)
        return True

    def _commit(self) -> None:
        for (collection, doc_id), data in self._writes.items():
            if data is _DELETED:
                self._conn.execute("DELETE FROM docs WHERE collection=? AND id=?", (collection, doc_id))
            else:
                self._conn.execute(
                    "INSERT OR REPLACE INTO docs(collection, id, data) VALUES (?, ?, ?)",
                    (collection, doc_id, data),
                )


class SqliteStore:
    """Implements `shared.ports.Store`. Thread-safe; one writer at a time. A commit survives
    the process being killed (WAL); `synchronous="FULL"` also makes it survive a power loss
    (the executor's order claims and the paper venues' own records use it)."""

    def __init__(self, path: str | Path = ":memory:", synchronous: str = "NORMAL"):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL,"
                " data TEXT NOT NULL, PRIMARY KEY (collection, id))"
            )

    @staticmethod
    def _read(conn: sqlite3.Connection, collection: str, doc_id: str) -> Document | None:
        row = conn.execute(
            "SELECT data FROM docs WHERE collection=? AND id=?", (collection, doc_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def get(self, collection: str, doc_id: str) -> Document | None:
        with self._lock:
            return self._read(self._conn, collection, doc_id)

    def put(self, collection: str, doc_id: str, data: Document) -> None:
        with self.transaction() as tx:
            tx.put(collection, doc_id, data)

    def delete(self, collection: str, doc_id: str) -> None:
        with self.transaction() as tx:
            tx.delete(collection, doc_id)

    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        with self.transaction() as tx:
            return tx.create_if_absent(collection, doc_id, data)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, Document]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, data FROM docs WHERE collection=? ORDER BY id", (collection,)
            ).fetchall()
        return select([(doc_id, json.loads(data)) for doc_id, data in rows], where, order_by, descending, limit)

    def collections(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT collection FROM docs")]

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTransaction(self._conn)
            try:
                yield tx
                tx._commit()
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()
