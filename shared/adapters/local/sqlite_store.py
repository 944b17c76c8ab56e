"""A SQLite document store: collections of JSON documents with transactions and
create-if-absent. File-backed by default so a run can be inspected and resumed;
`:memory:` for tests.

`write_behind=True` is the replay's mode (infra/local/pipeline.py), built for speed: a
commit lands in memory (documents kept frozen, as the plain Python values their JSON would
decode to: shared/adapters/local/sqlite_docs.py; nothing is encoded or decoded per step, a
put copies what it is given and a read copies what it returns) and the file is written in
one SQLite transaction per `flush_docs` changed documents, by `flush()`, and at `close()`
(or when the store is garbage-collected or the process exits). Reads see every commit; a query decodes
only the documents its string comparisons can match (pre-filtered in SQL on an index of
the fields, made at its first query: for several, one index of them all, equalities first,
so "inventory near misses of the last day" seeks those, not every near miss of the day),
so querying a collection that grows with the run (near misses since an hour ago) stays cheap. The file always
holds the state after some commit (a batch is applied whole), as a kill between two
commits leaves it in the default mode, so `--resume` works after a crash; what a crash
loses is the last commits, which a resume replays. Services that need each commit on disk
when it returns (the executor's claims) use the default mode.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.adapters.local.sqlite_docs import _LEAF, freeze, prefilter, thaw
from shared.adapters.query import predicate, select
from shared.ports import Document, Where

_DELETED = object()
_ABSENT = object()  # write-behind cache: known not to be in the file


_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))  # holds settings only: reentrant


def _encode(data: Any) -> str:
    """`json.dumps(data, default=str, separators=(",", ":"))`, without building an encoder
    per document (json.dumps does, given settings: half the time of a small document)."""
    return _ENCODER.encode(data)


def _write(conn: sqlite3.Connection, dirty: dict) -> None:
    """Apply the changed documents to the file in one transaction and forget them."""
    if not dirty:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        gone = [key for key, data in dirty.items() if data is _DELETED]
        conn.executemany("DELETE FROM docs WHERE collection=? AND id=?", gone)
        conn.executemany("INSERT OR REPLACE INTO docs(collection, id, data) VALUES (?, ?, ?)",
                         [(c, i, _encode(d)) for (c, i), d in dirty.items() if d is not _DELETED])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    dirty.clear()


class SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection, store: SqliteStore | None = None):
        self._conn = conn
        self._store = store  # write-behind: documents as values, read through the store's cache
        self._writes: dict[tuple[str, str], Any] = {}

    def get(self, collection: str, doc_id: str) -> Document | None:
        key = (collection, doc_id)
        if key in self._writes:
            data = self._writes[key]
            if data is _DELETED:
                return None
            return thaw(data) if self._store is not None else json.loads(data)
        if self._store is not None:
            return self._store._cached(collection, doc_id)
        return SqliteStore._read(self._conn, collection, doc_id)

    def peek(self, collection: str, doc_id: str) -> Document | None:
        return self.get(collection, doc_id)  # one writer at a time: nothing can conflict

    def put(self, collection: str, doc_id: str, data: Document) -> None:
        # copied once, at put time: later changes to `data` cannot leak into the store
        self._writes[(collection, doc_id)] = freeze(data) if self._store is not None else _encode(data)

    def delete(self, collection: str, doc_id: str) -> None:
        self._writes[(collection, doc_id)] = _DELETED

    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        if self.get(collection, doc_id) is not None:
            return False
        self.put(collection, doc_id, data)
        return True

    def _commit(self) -> None:
        if self._store is not None:
            self._store._apply(self._writes)
            return
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
    (the executor's order claims and the paper venues' own records use it). `write_behind`:
    the replay's batched mode (see the module's docstring)."""

    def __init__(self, path: str | Path = ":memory:", synchronous: str = "NORMAL", *,
                 write_behind: bool = False, flush_docs: int = 5_000, cache_docs: int = 20_000):
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
        self.write_behind = write_behind
        self.flush_docs, self.cache_docs = flush_docs, cache_docs
        self._dirty: dict[tuple[str, str], Any] = {}  # not yet in the file: value or _DELETED
        self._dirty_ids: dict[str, set[str]] = {}  # collection -> its ids in _dirty
        self._clean: dict[tuple[str, str], Any] = {}  # as in the file (bounded): value or _ABSENT
        self._indexed: set[tuple[str, ...]] = set()  # fields queried together, with an index on their values
        if write_behind:  # the last changes reach the file even without close()
            self._finalizer = weakref.finalize(self, _write, self._conn, self._dirty)

    @staticmethod
    def _read(conn: sqlite3.Connection, collection: str, doc_id: str) -> Document | None:
        row = conn.execute(
            "SELECT data FROM docs WHERE collection=? AND id=?", (collection, doc_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    # -- write-behind -------------------------------------------------------------------
    def _cached(self, collection: str, doc_id: str) -> Document | None:
        key = (collection, doc_id)
        data = self._dirty.get(key, _ABSENT)
        if data is _ABSENT:
            data = self._clean.get(key, None)
            if data is None:
                found = self._read(self._conn, collection, doc_id)
                data = self._clean[key] = _ABSENT if found is None else freeze(found)
        return None if data is _ABSENT or data is _DELETED else thaw(data)

    def _apply(self, writes: dict[tuple[str, str], Any]) -> None:
        for key, data in writes.items():
            self._dirty[key] = data
            self._dirty_ids.setdefault(key[0], set()).add(key[1])
            self._clean.pop(key, None)
        if len(self._dirty) >= self.flush_docs:
            self.flush()

    def flush(self) -> None:
        """Write the changed documents to the file, in one transaction (write-behind mode;
        a no-op otherwise)."""
        with self._lock:
            if not self._dirty:
                return
            if len(self._clean) + len(self._dirty) > self.cache_docs:
                self._clean.clear()
            settled = {k: (_ABSENT if v is _DELETED else v) for k, v in self._dirty.items()}
            _write(self._conn, self._dirty)
            self._clean.update(settled)
            self._dirty_ids.clear()

    # -- the Store port -----------------------------------------------------------------
    def get(self, collection: str, doc_id: str) -> Document | None:
        with self._lock:
            if self.write_behind:
                return self._cached(collection, doc_id)
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
            if not self.write_behind:
                rows = self._conn.execute(
                    "SELECT id, data FROM docs WHERE collection=? ORDER BY id", (collection,)
                ).fetchall()
            else:
                return select(self._query_behind(collection, where), where, order_by, descending, limit)
        return select([(doc_id, json.loads(data)) for doc_id, data in rows], where, order_by, descending, limit)

    def _query_behind(self, collection: str, where: Sequence[Where]) -> list[tuple[str, Document]]:
        """The collection's documents that may match `where`: the file's (pre-filtered in SQL,
        so a growing collection stays cheap to query) overlaid with the unwritten commits."""
        sql, args, fields = prefilter(where)
        if fields and fields not in self._indexed:  # the pre-filter reads an index, not every row
            columns = ", ".join(f"json_extract(data, '$.{f}')" for f in fields)
            name = fields[0] if len(fields) == 1 else "m" + hashlib.sha1("\0".join(fields).encode()).hexdigest()[:16]
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS docs_{name} ON docs(collection, {columns})")
            self._indexed.add(fields)
        rows = self._conn.execute(
            f"SELECT id, data FROM docs WHERE collection=?{sql} ORDER BY id", (collection, *args)
        ).fetchall()
        newer, clean, room = self._dirty_ids.get(collection, ()), self._clean, self.cache_docs
        # a kept (frozen) document is tested before it is copied: only a match is thawed (the
        # test reads top-level values, the same frozen or thawed, when every condition's value is a plain one)
        keep = predicate(where) if all(type(w[2]) in _LEAF for w in where) else None
        docs = []
        for doc_id, data in rows:  # the file's, decoded once: kept (bounded) as `get` keeps them
            if doc_id in newer:
                continue
            frozen = clean.get((collection, doc_id))
            if frozen is None or frozen is _ABSENT:
                doc = json.loads(data)
                if len(clean) < room:
                    clean[(collection, doc_id)] = freeze(doc)
            elif keep is None or keep(frozen):
                doc = thaw(frozen)
            else:
                continue
            docs.append((doc_id, doc))
        for doc_id in newer:
            data = self._dirty[(collection, doc_id)]
            if data is not _DELETED and (keep is None or keep(data)):
                docs.append((doc_id, thaw(data)))
        return docs

    def collections(self) -> list[str]:
        with self._lock:
            self.flush()
            return [r[0] for r in self._conn.execute("SELECT DISTINCT collection FROM docs")]

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        with self._lock:
            if self.write_behind:  # applied at the end, whole, or not at all
                tx = SqliteTransaction(self._conn, self)
                yield tx
                tx._commit()
                return
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
            if self.write_behind:
                self._finalizer()  # the last changes, once
            self._conn.close()
