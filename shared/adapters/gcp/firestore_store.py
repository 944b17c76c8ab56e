"""The Store port over Cloud Firestore (the official client; the emulator alike).

Transactions are optimistic, with the SQLite store's semantics (reads see the
transaction's own writes; writes apply atomically at commit):

- inside the `with` block reads are plain reads whose document versions (update time,
  or absence) are remembered, and writes are buffered;
- at exit one Firestore transaction (`@firestore.transactional`, reads before writes)
  re-reads every document read, checks that none changed, then applies the writes
  (`create` for create-if-absent, so a concurrent creator cannot be overwritten);
- a changed document, contention that outlasts the client's retries, or a lost create
  race raise TransientError: the message is redelivered and the handler runs again.

Documents are JSON-compatible dicts (Decimals arrive as strings). Two encodings keep
them storable: an array holding arrays (Firestore allows none) is stored as `{"tw_json": "<json>"}`
(compact too: a 240-row bar window encodes in well under a millisecond),
and a top-level `expires_at` ISO string is stored as a Firestore timestamp so the TTL
policy on `processed` can use it (read back as an ISO string). Document ids may contain
`/` (e.g. symbols): it is escaped.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.query import select  # the same query semantics as the SQLite store
from shared.errors import TransientError
from shared.ports import Document, Where

TTL_FIELD = "expires_at"
_DELETED = object()
_NESTED = "tw_json"
COMMIT_ATTEMPTS = 5


def encode_id(doc_id: str) -> str:
    if not doc_id:
        raise ValueError("empty document id")
    return doc_id.replace("%", "%25").replace("/", "%2F")


def decode_id(doc_id: str) -> str:
    return doc_id.replace("%2F", "/").replace("%25", "%")


def _plain(data: Document) -> Document:
    """A detached JSON-compatible copy (Decimals and datetimes become strings)."""
    return json.loads(json.dumps(data, default=str))


def _to_fs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_fs(v) for k, v in value.items()}
    if isinstance(value, list):
        if any(isinstance(v, list) for v in value):  # Firestore has no nested arrays
            return {_NESTED: json.dumps(value, separators=(",", ":"))}
        return [_to_fs(v) for v in value]
    return value


def _from_fs(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_NESTED}:
            return json.loads(value[_NESTED])
        return {k: _from_fs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_fs(v) for v in value]
    if isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                        value.microsecond, tzinfo=UTC).isoformat()
    return value


def encode(data: Document) -> dict[str, Any]:
    out = _to_fs(_plain(data))
    ttl = out.get(TTL_FIELD)
    if isinstance(ttl, str):
        with contextlib.suppress(ValueError):  # not a timestamp: stored as given, no TTL
            out[TTL_FIELD] = datetime.fromisoformat(ttl).astimezone(UTC)
    return out


def decode(data: dict[str, Any] | None) -> Document | None:
    return None if data is None else _from_fs(data)


def _server_side(value: Any) -> bool:
    """Equality the server can decide exactly as SQLite would (not numeric-looking)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            Decimal(value)
            return False
        except InvalidOperation:
            return True
    return False


class FirestoreTransaction:
    def __init__(self, store: FirestoreStore):
        self._store = store
        self._seen: dict[tuple[str, str], Any] = {}  # key -> update_time, None when absent
        self._writes: dict[tuple[str, str], Any] = {}
        self._creates: set[tuple[str, str]] = set()

    def get(self, collection: str, doc_id: str) -> Document | None:
        key = (collection, doc_id)
        if key in self._writes:
            data = self._writes[key]
            return None if data is _DELETED else _plain(data)
        snap = self._store.ref(collection, doc_id).get()
        self._seen.setdefault(key, snap.update_time if snap.exists else None)
        return decode(snap.to_dict()) if snap.exists else None

    def peek(self, collection: str, doc_id: str) -> Document | None:
        key = (collection, doc_id)
        if key in self._writes:
            data = self._writes[key]
            return None if data is _DELETED else _plain(data)
        snap = self._store.ref(collection, doc_id).get()  # not in the conflict check
        return decode(snap.to_dict()) if snap.exists else None

    def put(self, collection: str, doc_id: str, data: Document) -> None:
        self._writes[(collection, doc_id)] = _plain(data)

    def delete(self, collection: str, doc_id: str) -> None:
        self._writes[(collection, doc_id)] = _DELETED
        self._creates.discard((collection, doc_id))

    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        if self.get(collection, doc_id) is not None:
            return False
        key = (collection, doc_id)
        self.put(collection, doc_id, data)
        if self._seen.get(key, "written") is None:
            self._creates.add(key)
        return True

    def _commit(self) -> None:
        if not self._writes:
            return
        store = self._store
        refs = {key: store.ref(*key) for key in self._seen}

        @firestore.transactional
        def apply(txn) -> None:
            if refs:
                by_path = {ref.path: key for key, ref in refs.items()}
                for snap in txn.get_all(list(refs.values())):
                    key = by_path[snap.reference.path]
                    now = snap.update_time if snap.exists else None
                    if now != self._seen[key]:
                        raise _Changed(f"{key[0]}/{key[1]} changed since it was read")
            for key, data in self._writes.items():
                ref = refs.get(key) or store.ref(*key)
                if data is _DELETED:
                    txn.delete(ref)
                elif key in self._creates:
                    txn.create(ref, encode(data))
                else:
                    txn.set(ref, encode(data))

        try:
            apply(store.client.transaction(max_attempts=COMMIT_ATTEMPTS))
        except _Changed as exc:
            raise TransientError(f"firestore contention: {exc}") from exc
        except (gexc.AlreadyExists, gexc.Aborted, gexc.Conflict, gexc.ServiceUnavailable,
                gexc.DeadlineExceeded) as exc:
            raise TransientError(f"firestore commit failed: {exc.__class__.__name__}") from exc
        except ValueError as exc:  # the client's "exceeded max attempts"
            if isinstance(exc.__cause__, gexc.GoogleAPICallError):
                raise TransientError(f"firestore contention: {exc}") from exc
            raise


class _Changed(Exception):
    """A document read in the transaction changed before the commit."""


class FirestoreStore:
    """Implements `shared.ports.Store`. The client is created lazily, once."""

    # a write outside a transaction never waits on one open in this thread: the live cold
    # sweep's claim (shared/sweep/sweeper.py) is written here before the withdrawal
    independent_writes = True

    def __init__(self, project: str | None = None, database: str | None = None,
                 client: firestore.Client | None = None):
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or "tradewinds-local"
        self.database = database or os.environ.get("TW_FIRESTORE_DATABASE") or None
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> firestore.Client:
        with self._lock:
            if self._client is None:
                self._client = firestore.Client(project=self.project, database=self.database)
            return self._client

    def ref(self, collection: str, doc_id: str):
        return self.client.collection(collection).document(encode_id(doc_id))

    def get(self, collection: str, doc_id: str) -> Document | None:
        snap = self.ref(collection, doc_id).get()
        return decode(snap.to_dict()) if snap.exists else None

    def put(self, collection: str, doc_id: str, data: Document) -> None:
        self.ref(collection, doc_id).set(encode(data))

    def delete(self, collection: str, doc_id: str) -> None:
        self.ref(collection, doc_id).delete()

    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        try:
            self.ref(collection, doc_id).create(encode(data))
            return True
        except (gexc.AlreadyExists, gexc.Conflict):
            return False

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, Document]]:
        """Filters on non-numeric values (names, ISO timestamps) run on the server, so a
        time window reads only its documents; numeric-string comparisons and ordering run
        here, as the SQLite store does them. Every filter is also re-checked here."""
        q = self.client.collection(collection)
        local = list(where)
        ranged: str | None = None
        for field, op, value in where:
            if op == "==" and _server_side(value):
                q = q.where(filter=FieldFilter(field, "==", value))
            elif op in ("<", "<=", ">", ">=") and isinstance(value, str) and _server_side(value) \
                    and ranged in (None, field):  # one range field per query without an index
                q = q.where(filter=FieldFilter(field, op, value))
                ranged = field
        if limit is not None and not where and not order_by:
            q = q.order_by("__name__").limit(limit)
        docs = [(decode_id(s.id), decode(s.to_dict())) for s in q.stream()]
        return select(docs, local, order_by, descending, limit)

    @contextmanager
    def transaction(self) -> Iterator[FirestoreTransaction]:
        tx = FirestoreTransaction(self)
        yield tx
        tx._commit()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
