"""Stored 1-minute bars (`shared.ports.BarHistory`): local Parquet; GCS in adapters.gcp."""

from shared.history.parquet_store import ParquetBarHistory

__all__ = ["ParquetBarHistory"]
