"""Where training bars come from: the market simulator, stored Parquet bars, or the
synthetic generator. Every source yields per-venue arrays of one symbol (VenueSeries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from shared.errors import ConfigError
from shared.ml.config import FeatureSpec
from shared.ml.features import VenueSeries, series_from_bars
from shared.ml.synthetic import generate

SIM_START = datetime(2025, 1, 1, tzinfo=UTC)
_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600}
STRUCTURES = ("lead_lag", "random_walk")
PARQUET_COLUMNS = ("venue", "symbol", "timeframe", "open_time", "close", "volume")


def bars_per_day(timeframe: str) -> int:
    if timeframe not in _SECONDS:
        raise ConfigError(f"timeframe {timeframe!r} not one of {sorted(_SECONDS)}")
    return 86_400 // _SECONDS[timeframe]


def load_series(data: str, days: float, seed: int, spec: FeatureSpec) -> dict[str, VenueSeries]:
    """`data` is 'sim' (MarketSimulator), 'synthetic' / 'synthetic:random_walk' (generator)
    or a directory of Parquet bar files; the last `days` days of `spec.symbol` are kept."""
    if days <= 0:
        raise ConfigError("days must be positive")
    if data == "sim":
        return _from_simulator(days, seed, spec)
    if data.startswith("synthetic"):
        structure = data.partition(":")[2] or "lead_lag"
        if structure not in STRUCTURES:
            raise ConfigError(f"--data {data}: structure must be one of {STRUCTURES}")
        n = int(days * bars_per_day(spec.timeframe))
        return generate(n, spec.venues, seed, structure=structure,  # type: ignore[arg-type]
                        bar_seconds=_SECONDS[spec.timeframe])
    return _from_parquet(Path(data), days, spec)


def _from_simulator(days: float, seed: int, spec: FeatureSpec) -> dict[str, VenueSeries]:
    try:
        from shared.config.venues import load_market_config
        from shared.market.simulator import MarketSimulator
    except ImportError as e:  # the simulator ships separately
        raise ConfigError(f"--data sim needs shared.market.simulator: {e}") from e
    sim = MarketSimulator(load_market_config(), seed, SIM_START)
    bars = sim.advance(SIM_START + timedelta(days=days))
    series = series_from_bars(bars, symbol=spec.symbol, timeframe=spec.timeframe)
    if not series:
        raise ConfigError(f"the simulator produced no {spec.timeframe} bars of {spec.symbol}")
    return series


def _from_parquet(directory: Path, days: float, spec: FeatureSpec) -> dict[str, VenueSeries]:
    """Parquet files (any layout under `directory`) with columns PARQUET_COLUMNS."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    if not directory.is_dir():
        raise ConfigError(f"--data {directory}: not 'sim', 'synthetic' or a directory")
    dataset = pads.dataset(directory, format="parquet")
    missing = set(PARQUET_COLUMNS) - set(dataset.schema.names)
    if missing:
        raise ConfigError(f"{directory}: parquet bars lack columns {sorted(missing)}")
    table = dataset.to_table(
        columns=list(PARQUET_COLUMNS),
        filter=(pc.field("symbol") == spec.symbol) & (pc.field("timeframe") == spec.timeframe),
    )
    if table.num_rows == 0:
        raise ConfigError(f"{directory}: no {spec.timeframe} bars of {spec.symbol}")
    times = _epoch_seconds(table.column("open_time").to_numpy())
    cutoff = times.max() - int(days * 86_400)
    venue = np.asarray(table.column("venue").to_pylist())
    close = np.asarray(table.column("close").to_pylist(), dtype=np.float64)
    volume = np.asarray(table.column("volume").to_pylist(), dtype=np.float64)
    out: dict[str, VenueSeries] = {}
    for v in np.unique(venue):
        keep = (venue == v) & (times > cutoff)
        t, idx = np.unique(times[keep], return_index=True)  # sorted, duplicates dropped
        out[str(v)] = VenueSeries(times=t, close=close[keep][idx], volume=volume[keep][idx])
    return out


def _epoch_seconds(values: np.ndarray) -> np.ndarray:
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[s]").astype(np.int64)
    return np.asarray(values, dtype=np.int64)
