"""Derive a venue's quotes and 1-minute bars for one block from the latent path.

mid = latent fair price seen `lag` late x exp(micro-noise + dislocation); the spread
widens and the touch thins when volatility is high. Planted crashes are applied here
(as log offsets on the latent path), so they can be added after the randomness of a
block has been drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shared.config.venues import InstrumentConfig, VenueConfig
from shared.market.microstructure import PairRaw

_CRASH_VOLUME_CAP = math.log(30.0)   # a crash minute trades up to 30x normal volume


@dataclass
class PairQuotes:
    mid: np.ndarray          # (steps,)
    half_spread: np.ndarray  # (steps,) fraction of mid
    bid_size: np.ndarray     # (steps,) base units at the touch
    ask_size: np.ndarray     # (steps,)
    open: np.ndarray         # (minutes,)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray       # (minutes,) base units
    trades: np.ndarray       # (minutes,) int


def lagged(fair_ext: np.ndarray, tail: int, lag_steps: float) -> np.ndarray:
    """Value of `fair_ext` lag_steps before each step of the block (linear interpolation).

    `fair_ext` holds `tail` steps of history followed by the block's steps.
    """
    whole = math.floor(lag_steps)
    frac = lag_steps - whole
    if whole + 1 > tail:
        raise ValueError(f"lag of {lag_steps:.1f} steps needs more than {tail} steps of history")
    n = len(fair_ext) - tail
    now = fair_ext[tail - whole: tail - whole + n]
    if frac == 0.0:
        return now.copy()
    before = fair_ext[tail - whole - 1: tail - whole - 1 + n]
    return (1.0 - frac) * now + frac * before


def derive(
    venue: VenueConfig, instrument: InstrumentConfig, raw: PairRaw, fair_ext: np.ndarray,
    tail: int, step_s: float, vol_ratio: np.ndarray, volume_mult: np.ndarray,
    overlay_move: np.ndarray | None, steps_per_minute: int,
) -> PairQuotes:
    """`vol_ratio`, `volume_mult`, `overlay_move` are per minute; the rest per step."""
    sim = venue.sim
    spm = steps_per_minute
    log_mid = lagged(fair_ext, tail, sim.lag_ms / 1000.0 / step_s) + raw.noise + raw.dislocation
    mid = np.exp(log_mid)
    ratio = np.repeat(np.sqrt(np.clip(vol_ratio, 0.25, 16.0)), spm)
    half_spread = (sim.spread_bps / 2e4) * raw.spread_mult * ratio
    bid_size = raw.bid_size / ratio
    ask_size = raw.ask_size / ratio

    grid = mid.reshape(-1, spm)
    volume = instrument.base_volume_per_min * sim.volume_share * volume_mult * raw.volume_noise
    if overlay_move is not None:
        volume = volume * np.exp(np.minimum(overlay_move / 0.002, _CRASH_VOLUME_CAP))
    avg_trade = instrument.top_size / 12.0 * raw.trade_noise
    trades = np.maximum(1, np.rint(volume / avg_trade)).astype(np.int64)
    return PairQuotes(
        mid=mid, half_spread=half_spread, bid_size=bid_size, ask_size=ask_size,
        open=grid[:, 0], high=grid.max(axis=1), low=grid.min(axis=1), close=grid[:, -1],
        volume=volume, trades=trades,
    )
