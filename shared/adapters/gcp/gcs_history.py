"""Bar history in Google Cloud Storage: one Parquet object per venue/symbol/timeframe/day.

Object names: `<prefix>/<venue>/<SYMBOL>/<timeframe>/<YYYY-MM-DD>.parquet`, the same
layout and encoding as the local ParquetBarHistory. Writes read-merge-write each day
object with a generation precondition, so concurrent writers never lose bars (a lost
race is retried). google.cloud.storage is imported lazily, on first use.

Without an explicit client, `storage.Client()` follows the library's own configuration:
STORAGE_EMULATOR_HOST (anonymous credentials) or Application Default Credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts import Bar
from shared.errors import TransientError
from shared.history.parquet_store import (
    day_path,
    days_between,
    decode,
    encode,
    group_by_day,
    in_range,
    merge,
    symbol_dir,
)

_RACE_RETRIES = 5
_READ_RETRIES = 3


class GcsBarHistory:
    """`shared.ports.BarHistory` over a GCS bucket."""

    def __init__(self, bucket: str, prefix: str = "history", client: Any | None = None):
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._bucket = None

    @property
    def bucket(self):
        if self._bucket is None:
            if self._client is None:
                from google.cloud import storage  # lazy: importing this module stays SDK-free

                self._client = storage.Client()
            self._bucket = self._client.bucket(self.bucket_name)
        return self._bucket

    def _object(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _name(self, venue: str, symbol: str, timeframe: str, day: date) -> str:
        return self._object(day_path(venue, symbol, timeframe, day))

    def _load(self, name: str) -> tuple[list[Bar], int]:
        """Bars in the object and the generation they were read at (0 when absent).

        The bytes are fetched pinned to the generation the metadata reported; if the object
        is replaced in between, the pair is read again (a generation never names two contents).
        """
        from google.api_core import exceptions

        for _ in range(_READ_RETRIES):
            blob = self.bucket.get_blob(name)
            if blob is None:
                return [], 0
            generation = int(blob.generation)  # before download: it rewrites blob properties
            try:
                data = blob.download_as_bytes(if_generation_match=generation)
            except (exceptions.NotFound, exceptions.PreconditionFailed):
                continue  # replaced or deleted between metadata and media: read again
            return decode(data), generation
        raise TransientError(f"gs://{self.bucket_name}/{name} kept changing while reading")

    def write(self, bars: Iterable[Bar]) -> int:
        from google.api_core import exceptions

        added_total = 0
        for (venue, symbol, timeframe, day), group in group_by_day(bars).items():
            name = self._name(venue, symbol, timeframe, day)
            for _ in range(_RACE_RETRIES):
                existing, generation = self._load(name)
                merged, added = merge(existing, group)
                if not added:
                    break
                try:
                    self.bucket.blob(name).upload_from_string(
                        encode(merged), content_type="application/vnd.apache.parquet",
                        if_generation_match=generation,
                    )
                except exceptions.PreconditionFailed:
                    continue  # another writer got there first: merge again
                added_total += added
                break
            else:
                raise TransientError(f"gs://{self.bucket_name}/{name}: lost {_RACE_RETRIES} write races")
        return added_total

    def read(
        self, venue: str, symbol: str, start: datetime, end: datetime, timeframe: str = "1m"
    ) -> list[Bar]:
        """Bars with start <= open_time < end, oldest first."""
        out: list[Bar] = []
        if end <= start:
            return out
        for day in days_between(start, end - timedelta(microseconds=1)):  # end is exclusive
            bars, _ = self._load(self._name(venue, symbol, timeframe, day))
            out.extend(in_range(bars, start, end))
        return out

    def last_time(self, venue: str, symbol: str, timeframe: str = "1m") -> datetime | None:
        folder = self._object(f"{venue}/{symbol_dir(symbol)}/{timeframe}/")
        names = sorted(
            b.name for b in self.bucket.list_blobs(prefix=folder)
            if b.name.endswith(".parquet")
        )
        for name in reversed(names):
            bars, _ = self._load(name)
            if bars:
                return bars[-1].open_time
        return None
