"""A signal window's bars in the store, so that a bar rewrites a short list, not the window.

`windows/{key}` (the signal step's state of one venue/symbol) holds in `bars` only its
newest rows (1 to CHUNK of them) and in `chunks` the ids of the older ones, oldest first:
immutable documents `window_bars/{key}@{first row's open time}` of CHUNK rows each
(`{"window": key, "bars": [...]}`), written once, in the transaction of the bar that filled
them, and deleted, in the transaction of a later bar, when the window no longer needs them
(it keeps at least WINDOW rows). A row is `[open time ISO, open, high, low, close, volume]`.

A window document without `chunks` (written before this layout, or by hand) holds its
whole window in `bars`: it reads as it is and is chunked at its next bar. `rows` reads the
whole window; a chunk that cannot be found ends the history there (the rows after it are
returned, never a window with a hole in it).
"""

from __future__ import annotations

from typing import Protocol

from shared.ports import Document

WINDOW = 240   # rows the strategies see
CHUNK = 20     # rows per chunk document
COLLECTION = "window_bars"


class _Reader(Protocol):
    def get(self, collection: str, doc_id: str) -> Document | None: ...


def stamp(doc: Document) -> tuple[tuple[str, ...], list]:
    """What identifies the window's rows: its chunk ids and its newest rows."""
    return tuple(doc.get("chunks", ())), doc["bars"]


def rows(reader: _Reader, doc: Document, last: int | None = WINDOW) -> list[list]:
    """The window's rows, oldest first (the `last` ones; None: all that are stored)."""
    out: list[list] = []
    for chunk_id in doc.get("chunks", ()):
        chunk = reader.get(COLLECTION, chunk_id)
        out = out + chunk["bars"] if chunk else []  # a lost chunk: the history starts after it
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
        chunk_id = f"{key}@{part[0][0]}"
        tx.put(COLLECTION, chunk_id, {"window": key, "bars": part})
        chunks.append(chunk_id)
    while chunks and (len(chunks) - 1) * CHUNK + len(tail) >= keep:
        tx.delete(COLLECTION, chunks.pop(0))
    doc["bars"], doc["chunks"] = tail, chunks
