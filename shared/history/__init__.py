"""Stored bars (`shared.ports.BarHistory`): local Parquet; GCS in adapters.gcp. Every command
reads and writes history under `DEFAULT_ROOT` (data/history) unless told otherwise."""

from shared.history.catalog import DEFAULT_ROOT, NoHistory
from shared.history.parquet_store import ParquetBarHistory

__all__ = ["DEFAULT_ROOT", "NoHistory", "ParquetBarHistory"]
