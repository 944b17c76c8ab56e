"""Market regimes with structure, layered on the simulator's latent random walk.

The latent process (shared/market/latent.py) is a pure random walk: GARCH volatility, fat
tails and jumps, but returns with no memory, so no strategy can beat it after fees. A regime
re-shapes each block's latent log-price increments (per update-grid step, every asset) into
a market that has structure, keeping their volatility clustering, tails and jumps:

- `random`: no change (the simulator does not even build a process: bit-for-bit as before).
- `trend`: each asset drifts by `drift_sharpe` times its unconditional hourly volatility per
  hour (1.0: BTC at 55 %/yr drifts ~0.59 % an hour, ETH ~0.75 %), scaled per spell by a
  factor drawn in [0.5, 1.5]. The first sign is a coin flip; a spell keeps its sign for an
  exponential duration (mean `trend_mean_minutes` = 240, at least `min_spell_minutes` = 30),
  then the sign reverses.
  Hourly returns are positively autocorrelated.
- `range`: mean reversion of the log price to a level (an Ornstein-Uhlenbeck process driven
  by the latent increments): x <- a x + increment with a = 2^(-step / half-life), half-life
  `range_half_life_minutes` = 60. The level is the price where the range starts. With BTC's
  7.6 bps one-minute volatility the stationary deviation is ~50 bps (one s.d.).
- `mixed`: one market-wide label per minute switching between spells of `trend` (mean 240 min),
  `range` (mean 240 min) and `high_volatility` (mean 60 min: increments x `high_vol_mult` =
  2.5, the quoted volatility and volume with them), each spell at least 30 minutes, then the
  next label: from trend or range 70 % the other one and 30 % high volatility, from high
  volatility 50/50 trend or range. A trend spell draws a fresh sign per asset; a range spell
  takes the price it starts at as its level.

Randomness comes from streams keyed by (seed, block, "regime", name), drawn in block order,
so the same seed gives the same market whatever steps the caller advances in; the carried
state (label, spells, levels, last output price) links blocks. `spells` lists where each label
started (minute from the origin, label): the ground truth a detector can be scored against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from shared.config.venues import MarketConfig
from shared.market.latent import MINUTES_PER_YEAR, LatentBlock, stream


class MarketRegime(StrEnum):
    """The simulator's market structures (the CLI's --market choices)."""

    RANDOM = "random"
    TREND = "trend"
    RANGE = "range"
    MIXED = "mixed"


REGIMES = tuple(m.value for m in MarketRegime)
TREND, RANGE, HIGH_VOL = "trend", "range", "high_volatility"
_NEXT = {TREND: ((RANGE, 0.7), (HIGH_VOL, 0.3)), RANGE: ((TREND, 0.7), (HIGH_VOL, 0.3)),
         HIGH_VOL: ((TREND, 0.5), (RANGE, 0.5))}


@dataclass(frozen=True)
class RegimeSettings:
    drift_sharpe: float = 1.0            # trend drift per hour, in hourly volatilities
    trend_mean_minutes: float = 240.0    # mean spell of one drift sign (trend) / of a trend (mixed)
    range_half_life_minutes: float = 60.0
    range_mean_minutes: float = 240.0    # mixed: mean range spell
    high_vol_mean_minutes: float = 60.0  # mixed: mean high-volatility spell
    high_vol_mult: float = 2.5
    min_spell_minutes: int = 30


def check(name: str) -> str:
    if name not in REGIMES:
        raise ValueError(f"unknown market regime {name!r}; use one of {', '.join(REGIMES)}")
    return name


class RegimeProcess:
    """Re-shapes each latent block in place (`apply`), blocks in order."""

    def __init__(self, name: str, config: MarketConfig, seed: int, steps_per_minute: int,
                 settings: RegimeSettings | None = None):
        if check(name) == "random":
            raise ValueError("the random regime needs no process")
        self.name, self.seed, self.spm = name, seed, steps_per_minute
        self.s = settings or RegimeSettings()
        self.assets = list(config.assets)
        hourly = np.array([config.assets[a].annual_vol for a in self.assets]) * math.sqrt(60 / MINUTES_PER_YEAR)
        self.drift_step = self.s.drift_sharpe * hourly / 60.0 / steps_per_minute  # log drift per grid step
        self.a_step = 2.0 ** (-1.0 / (self.s.range_half_life_minutes * steps_per_minute))
        n = len(self.assets)
        self.out = np.log([config.assets[a].initial_price for a in self.assets])  # last output log price
        self.label = None if name == "mixed" else name
        self.spell_left = 0                       # mixed: minutes left in the current label
        self.sign, self.mag = np.zeros(n), np.ones(n)  # sign 0: not drawn yet
        self.sign_left = np.zeros(n, dtype=np.int64)  # trend: minutes left of each asset's drift sign
        self.level, self.dev = self.out.copy(), np.zeros(n)
        self.spells: list[tuple[int, str]] = []  # (first minute from the origin, label)

    def label_at(self, minute: int) -> str | None:
        """The label of `minute` (from the origin), if generated."""
        out = None
        for first, label in self.spells:
            if first > minute:
                break
            out = label
        return out

    def _spell(self, rng: np.random.Generator, mean: float) -> int:
        return max(self.s.min_spell_minutes, round(rng.exponential(mean)))

    def _minute_labels(self, b: int, minutes: int) -> list[tuple[str, bool]]:
        """(label, a spell starts here) for each minute of block `b`."""
        if self.name != "mixed":
            return [(self.name, False)] * minutes
        rng = stream(self.seed, b, "regime", "schedule")
        means = {TREND: self.s.trend_mean_minutes, RANGE: self.s.range_mean_minutes,
                 HIGH_VOL: self.s.high_vol_mean_minutes}
        out = []
        for _ in range(minutes):
            if self.spell_left <= 0:
                if self.label is None:
                    self.label = (TREND, RANGE)[int(rng.random() < 0.5)]
                else:
                    (first, p), (second, _) = _NEXT[self.label]
                    self.label = first if rng.random() < p else second
                self.spell_left = self._spell(rng, means[self.label])
                out.append((self.label, True))
            else:
                out.append((self.label, False))
            self.spell_left -= 1
        return out

    def apply(self, latent: LatentBlock, start: np.ndarray) -> None:
        """Replace `latent.logp` (and, in high volatility, sigma/vol_ratio/volume) of the block
        just generated; `start` is the latent log price before it (the raw walk's carry)."""
        b, spm = latent.index, self.spm
        raw = np.diff(np.concatenate([start[None, :], latent.logp]), axis=0)  # (steps, assets)
        minutes = raw.shape[0] // spm
        labels = self._minute_labels(b, minutes)
        rngs = [stream(self.seed, b, "regime", "trend", a) for a in self.assets]
        logp = np.empty_like(latent.logp)
        m = 0
        while m < minutes:
            label, fresh = labels[m]
            end = m + 1
            while end < minutes and labels[end] == (label, False):
                end += 1
            if not self.spells or self.spells[-1][1] != label:
                self.spells.append((b * minutes + m, label))
            lo, hi = m * spm, end * spm
            if label == TREND:
                inc = self._trend(raw[lo:hi], rngs, fresh, end - m)
                logp[lo:hi] = self.out + np.cumsum(inc, axis=0)
            elif label == RANGE:
                if fresh:
                    self.level, self.dev = self.out.copy(), np.zeros(len(self.assets))
                logp[lo:hi] = self._range(raw[lo:hi])
            else:  # high volatility
                mult = self.s.high_vol_mult
                logp[lo:hi] = self.out + np.cumsum(mult * raw[lo:hi], axis=0)
                latent.sigma[m:end] *= mult
                latent.vol_ratio[m:end] *= mult
                latent.volume[m:end] *= math.sqrt(mult)
            self.out = logp[hi - 1].copy()
            m = end
        latent.logp[:] = logp

    def _trend(self, raw: np.ndarray, rngs, fresh: bool, minutes: int) -> np.ndarray:
        """Increments plus each asset's drift; a sign holds for its spell, then reverses
        (in mixed, a fresh trend spell draws each sign and holds it to the spell's end)."""
        drift = np.empty_like(raw)
        for a, rng in enumerate(rngs):
            if fresh:  # mixed: one sign per asset for the whole trend spell
                self.sign[a] = 1.0 if rng.random() < 0.5 else -1.0
                self.mag[a] = rng.uniform(0.5, 1.5)
                self.sign_left[a] = 10**9
            done = 0
            while done < minutes:
                if self.sign_left[a] <= 0:
                    self.sign[a] = -self.sign[a] if self.sign[a] else (1.0 if rng.random() < 0.5 else -1.0)
                    self.mag[a] = rng.uniform(0.5, 1.5)
                    self.sign_left[a] = self._spell(rng, self.s.trend_mean_minutes)
                k = int(min(self.sign_left[a], minutes - done))
                drift[done * self.spm:(done + k) * self.spm, a] = self.sign[a] * self.mag[a] * self.drift_step[a]
                self.sign_left[a] -= k
                done += k
        return raw + drift

    def _range(self, raw: np.ndarray) -> np.ndarray:
        """x_k = a x_(k-1) + inc_k, vectorised as a^k (x_0 + sum_j a^-j inc_j): a^-k stays
        below 2^(block minutes / half-life), far from overflow."""
        k = np.arange(1, raw.shape[0] + 1, dtype=np.float64)[:, None]
        grow = self.a_step ** k
        dev = grow * (self.dev + np.cumsum(raw / grow, axis=0))
        self.dev = dev[-1].copy()
        return self.level + dev
