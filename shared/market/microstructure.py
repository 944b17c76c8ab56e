"""How one venue quotes one symbol, before the latent price is applied.

Per grid step: an Ornstein-Uhlenbeck micro-noise (the venue's own order flow), a sum
of transient dislocations (arrive as a Poisson process, open within one update, decay
exponentially with a random log-normal half-life: most close within seconds, a few
linger), a spread multiplier and touch-size noise. Per minute: venue volume noise and
the average trade size noise. Random streams are keyed by (seed, block, venue, symbol).

Every dislocation drawn is also kept in `planted` (a record only: it draws no random
number, so recording never changes the market). `Dislocation` is its readable form: a
dislocation of one venue's symbol opens cross-exchange edges against the other venues
listing the symbol and a triangle inconsistency on that venue.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

import numpy as np

from shared.config.venues import InstrumentConfig, VenueConfig
from shared.market.latent import stream

_DISLOCATION_SIGMA = 0.7     # log-normal dispersion of dislocation half-lives
_DISLOCATION_SPAN = 12.0     # an event is dropped after this many half-lives
END_BPS = 1.0                # a dislocation has "ended" once its offset is below this


@dataclass(frozen=True)
class Dislocation:
    """One planted dislocation: `venue` quotes `symbol` off the market by `bps` (signed:
    + rich, its bids worth hitting; - cheap, its asks worth lifting) from `start`, the
    offset halving every `half_life_s` until it is below END_BPS (`end`)."""

    venue: str
    symbol: str
    start: datetime
    bps: float
    half_life_s: float

    @property
    def end(self) -> datetime:
        size = abs(self.bps)
        lives = min(math.log2(size / END_BPS), _DISLOCATION_SPAN) if size > END_BPS else 0.0
        return self.start + timedelta(seconds=self.half_life_s * lives)

    def offset_bps(self, at: datetime) -> float:
        """The offset at `at` (0 before the start and after the end)."""
        if at < self.start or at >= self.end:
            return 0.0
        return self.bps * 2.0 ** (-(at - self.start).total_seconds() / self.half_life_s)


@dataclass
class PairRaw:
    noise: np.ndarray        # (steps,) log offset
    dislocation: np.ndarray  # (steps,) log offset
    spread_mult: np.ndarray  # (steps,)
    bid_size: np.ndarray     # (steps,) base units at the touch before the vol adjustment
    ask_size: np.ndarray     # (steps,)
    volume_noise: np.ndarray  # (minutes,)
    trade_noise: np.ndarray  # (minutes,)


class PairProcess:
    def __init__(
        self, venue: VenueConfig, symbol: str, instrument: InstrumentConfig, seed: int,
        steps_per_minute: int, minutes: int, step_s: float,
    ):
        sim = venue.sim
        self.venue, self.symbol, self.seed = venue.name, symbol, seed
        self.n = steps_per_minute * minutes
        self.minutes = minutes
        self.step_s = step_s
        self.ar = 0.5 ** (step_s / sim.noise_half_life_s)
        self.noise_sd = sim.noise_bps / 1e4
        self.noise_shock = self.noise_sd * math.sqrt(1 - self.ar**2)
        self.rate = sim.dislocation_rate_per_hour * (minutes / 60.0)
        self.small = sim.dislocation_bps / 1e4 * instrument.dislocation_scale
        self.big = sim.dislocation_big_bps / 1e4 * instrument.dislocation_scale
        self.big_prob = sim.dislocation_big_prob
        self.cap = sim.dislocation_max_bps / 1e4 * instrument.dislocation_scale
        self.half_life_steps = sim.dislocation_half_life_s / step_s
        self.touch = instrument.top_size * sim.top_size_scale
        self.noise_last = 0.0
        # active dislocations: absolute start step, amplitude, half-life in steps
        self.events: list[tuple[int, float, float]] = []
        # every one drawn (the record), as flat (start, amplitude, half-life) triples of
        # doubles: 24 bytes each rather than a tuple's ~150, for runs of months
        self.planted = array("d")

    def generate(self, block: int) -> PairRaw:
        n, m_count = self.n, self.minutes
        rng = stream(self.seed, block, "venue", self.venue, self.symbol)
        z_noise = rng.standard_normal(n)
        n_events = rng.poisson(self.rate)
        starts = np.sort(rng.integers(0, n, n_events)) + block * n
        big = rng.random(n_events) < self.big_prob
        sizes = rng.exponential(1.0, n_events) * np.where(big, self.big, self.small)
        sizes = np.minimum(sizes, self.cap)
        signs = np.where(rng.random(n_events) < 0.5, -1.0, 1.0)
        lives = self.half_life_steps * np.exp(_DISLOCATION_SIGMA * rng.standard_normal(n_events))
        spread_mult = np.exp(0.15 * rng.standard_normal(n) - 0.011)
        bid = self.touch * np.exp(0.45 * rng.standard_normal(n) - 0.1)
        ask = self.touch * np.exp(0.45 * rng.standard_normal(n) - 0.1)
        volume_noise = np.exp(0.3 * rng.standard_normal(m_count) - 0.045)
        trade_noise = np.exp(0.2 * rng.standard_normal(m_count))

        noise = np.empty(n)
        x, ar, shock = self.noise_last, self.ar, self.noise_shock
        for k, z in enumerate(z_noise.tolist()):
            x = ar * x + shock * z
            noise[k] = x
        self.noise_last = x

        drawn = list(zip(starts.tolist(), (sizes * signs).tolist(), lives.tolist()))
        self.events.extend(drawn)
        self.planted.extend(chain.from_iterable(drawn))
        dislocation = np.zeros(n)
        first, kept = block * n, []
        steps = np.arange(n, dtype=float)
        for start, amp, life in self.events:
            lo = max(start - first, 0)
            hi = min(n, start - first + int(_DISLOCATION_SPAN * life) + 1)
            if hi > lo:
                dislocation[lo:hi] += amp * np.exp2(-(steps[lo:hi] - (start - first)) / life)
            if start - first + _DISLOCATION_SPAN * life >= n:
                kept.append((start, amp, life))
        self.events = kept
        return PairRaw(noise, dislocation, spread_mult, bid, ask, volume_noise, trade_noise)

    def records(self, origin: datetime) -> list[Dislocation]:
        """The planted dislocations as records (grid step 0 at `origin`)."""
        step = timedelta(seconds=self.step_s)
        flat = self.planted
        return [Dislocation(self.venue, self.symbol, origin + int(flat[i]) * step, flat[i + 1] * 1e4,
                            flat[i + 2] * self.step_s) for i in range(0, len(flat), 3)]
