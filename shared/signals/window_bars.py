"""A signal window's bars in the store, so that a bar rewrites a short list, not the window.

`windows/{key}` (the signal step's state of one venue/symbol) holds in `bars` only its
newest rows (1 to CHUNK of them) and in `chunks` the ids of the older ones, oldest first:
immutable documents `window_bars/{key}@{first row's open time}#{digest of the rows}` of
CHUNK rows each (`{"window": key, "bars": [...]}`), written once, in the transaction of the
bar that filled them, and deleted, in the transaction of a later bar, when the window no
longer needs them (it keeps at least WINDOW rows). A row is
`[open time ISO, open, high, low, close, volume]`.

A chunk's id names its content, so equal chunk ids (with equal newest rows: `stamp`) mean
equal windows, whichever store or run they come from, and the process keeps the chunks it
wrote or read (the last CHUNKS_KEPT, immutable): a warm instance reads no chunk from the
store, a cold one reads each once.

A window document without `chunks` (written before this layout, or by hand) holds its
whole window in `bars`: it reads as it is and is chunked at its next bar. `rows` reads the
whole window; a chunk that cannot be found or holds no list of rows ends the history there
(the rows after it are returned, never a window with a hole in it).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Protocol

from shared.ports import Document

WINDOW = 240   # rows the strategies see
CHUNK = 20     # rows per chunk document
COLLECTION = "window_bars"
CHUNKS_KEPT = 512  # chunks the process keeps (15 windows need 13 each)
_CHUNKS: OrderedDict[str, tuple[tuple, ...]] = OrderedDict()  # chunk id -> its rows (as tuples)


class _Reader(Protocol):
    def get(self, collection: str, doc_id: str) -> Document | None: ...


def stamp(doc: Document) -> tuple[tuple[str, ...], list]:
    """What identifies the window's rows: its chunk ids (their content) and its newest rows."""
    return tuple(doc.get("chunks", ())), doc["bars"]


def chunk_id(key: str, part: list[list]) -> str:
    digest = hashlib.blake2b(json.dumps(part, separators=(",", ":")).encode(), digest_size=8).hexdigest()
    return f"{key}@{part[0][0]}#{digest}"


def _keep(cid: str, part) -> tuple[tuple, ...]:
    rows = _CHUNKS[cid] = tuple(tuple(r) for r in part)
    while len(_CHUNKS) > CHUNKS_KEPT:
        _CHUNKS.popitem(last=False)
    return rows


def _chunk(reader: _Reader, cid: str) -> tuple[tuple, ...] | None:
    rows = _CHUNKS.get(cid)
    if rows is not None:
        _CHUNKS.move_to_end(cid)
        return rows
    doc = reader.get(COLLECTION, cid)
    part = doc.get("bars") if isinstance(doc, dict) else None
    if not isinstance(part, list) or not all(isinstance(r, list) and len(r) == 6 for r in part):
        return None
    return _keep(cid, part)


def rows(reader: _Reader, doc: Document, last: int | None = WINDOW) -> list[list]:
    """The window's rows, oldest first (the `last` ones; None: all that are stored)."""
    out: list[list] = []
    for cid in doc.get("chunks", ()):
        part = _chunk(reader, cid)
        out = out + [list(r) for r in part] if part is not None else []  # a lost chunk: start after it
    out += doc["bars"]
    return out if last is None else out[-last:]


def append(tx, key: str, doc: Document, row: list, keep: int = WINDOW) -> None:
    """Add `row` to the window `doc` (changed in place: the caller puts it): CHUNK rows
    more than the one kept newest become a chunk document, and the oldest chunks go while
    the rest still hold `keep` rows."""
    tail = [*doc["bars"], row]
    chunks = list(doc.get("chunks", ()))
    while len(tail) > CHUNK:
        part, tail = tail[:CHUNK], tail[CHUNK:]
        cid = chunk_id(key, part)
        tx.put(COLLECTION, cid, {"window": key, "bars": part})
        _keep(cid, part)
        chunks.append(cid)
    while chunks and (len(chunks) - 1) * CHUNK + len(tail) >= keep:
        tx.delete(COLLECTION, chunks.pop(0))
    doc["bars"], doc["chunks"] = tail, chunks
