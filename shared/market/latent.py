"""The latent ("true") price of every asset: one path per asset, shared by all venues.

Per 1-minute step: GARCH(1,1) conditional variance driven by standardised Student-t
shocks (a common market shock plus an idiosyncratic one), scaled by a market-wide
volatility regime (a Markov chain). Inside each minute the path is a Brownian bridge
on the update grid, so the minute return is exact and the intra-minute high/low is
realistic. Poisson jumps (market-wide and per asset, Laplace sizes) land on grid
steps. Volume has its own AR(1) log-process plus a response to |return| and regime.

Randomness is drawn per block (one hour) from a stream keyed by (seed, block, asset
name), so the market does not depend on how callers slice time, nor on which venues
are configured. Only the carried state (price, variance, regime, volume) links blocks.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from shared.config.venues import MarketConfig

MINUTES_PER_YEAR = 525_600.0


def stream(seed: int, block: int, *names: str) -> np.random.Generator:
    """A reproducible random stream for (seed, block, names...)."""
    keys = [seed & 0xFFFFFFFF, seed >> 32, block] + [zlib.crc32(n.encode()) for n in names]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(keys)))


@dataclass
class LatentBlock:
    index: int
    logp: np.ndarray        # (steps, assets) log price at each grid step, quote units
    sigma: np.ndarray       # (minutes, assets) conditional 1-min vol incl. regime
    vol_ratio: np.ndarray   # (minutes, assets) sigma / unconditional sigma
    volume: np.ndarray      # (minutes, assets) volume multiplier (mean ~1)
    regime: np.ndarray      # (minutes,) regime index


class LatentProcess:
    def __init__(self, config: MarketConfig, seed: int, steps_per_minute: int, minutes: int):
        self.seed = seed
        self.spm = steps_per_minute
        self.minutes = minutes
        self.assets = list(config.assets)
        cfg = [config.assets[a] for a in self.assets]
        lat = config.latent
        self.alpha = np.array([c.garch_alpha for c in cfg])
        self.beta = np.array([c.garch_beta for c in cfg])
        self.h_unc = np.array([c.annual_vol**2 / MINUTES_PER_YEAR for c in cfg])
        self.omega = self.h_unc * (1 - self.alpha - self.beta)
        self.df = np.array([c.tail_df for c in cfg])
        self.df_market = float(self.df.min())
        self.rho = np.array([c.market_correlation for c in cfg])
        self.jump_rate = np.array([c.jump_rate_per_day for c in cfg]) / 1440.0 / self.spm
        self.jump_scale = np.array([c.jump_scale_bps for c in cfg]) / 1e4
        self.market_jump_rate = lat.market_jump_rate_per_day / 1440.0 / self.spm
        self.vphi = np.array([c.volume_persistence for c in cfg])
        self.vvol = np.array([c.volume_vol for c in cfg])
        self.elasticity = lat.volume_return_elasticity
        self.mults = np.array([r.vol_mult for r in lat.regimes])
        self.leave = np.array([1.0 / r.mean_minutes for r in lat.regimes])
        # carried state
        self.logp = np.log([c.initial_price for c in cfg])
        self.h = self.h_unc.copy()
        self.regime = lat.initial_regime
        self.logv = np.zeros(len(cfg))
        self.next_block = 0

    def index(self, asset: str) -> int:
        return self.assets.index(asset)

    def generate(self) -> LatentBlock:
        """The next block; blocks must be generated in order."""
        b = self.next_block
        self.next_block += 1
        m_count, spm, n_assets = self.minutes, self.spm, len(self.assets)
        market = stream(self.seed, b, "latent", "market")
        own = [stream(self.seed, b, "latent", a) for a in self.assets]

        # -- draws (fixed order per stream: reproducible)
        u_regime = market.random((m_count, 2))
        z_m = market.standard_normal(m_count)
        w_m = market.chisquare(self.df_market, m_count)
        u_mjump = market.random(m_count * spm)
        s_mjump = market.laplace(0.0, 1.0, m_count * spm)
        z_i = np.empty((m_count, n_assets))
        w_i = np.empty((m_count, n_assets))
        z_bridge = np.empty((m_count, spm, n_assets))
        u_jump = np.empty((m_count * spm, n_assets))
        s_jump = np.empty((m_count * spm, n_assets))
        eta = np.empty((m_count, n_assets))
        for a, rng in enumerate(own):
            z_i[:, a] = rng.standard_normal(m_count)
            w_i[:, a] = rng.chisquare(self.df[a], m_count)
            z_bridge[:, :, a] = rng.standard_normal((m_count, spm))
            u_jump[:, a] = rng.random(m_count * spm)
            s_jump[:, a] = rng.laplace(0.0, 1.0, m_count * spm)
            eta[:, a] = rng.standard_normal(m_count)

        t_m = z_m * np.sqrt((self.df_market - 2) / w_m)
        t_i = z_i * np.sqrt((self.df - 2) / w_i)
        eps = np.sqrt(self.rho) * t_m[:, None] + np.sqrt(1 - self.rho) * t_i

        # -- sequential minute recursion: regime, GARCH variance, volume AR(1)
        regime = np.empty(m_count, dtype=np.int64)
        sigma = np.empty((m_count, n_assets))
        logv = np.empty((m_count, n_assets))
        n_reg = len(self.mults)
        h, r, lv = self.h, self.regime, self.logv
        vnoise = self.vvol * np.sqrt(1 - self.vphi**2)
        for m in range(m_count):
            if n_reg > 1 and u_regime[m, 0] < self.leave[r]:
                r = (r + 1 + int(u_regime[m, 1] * (n_reg - 1))) % n_reg
            regime[m] = r
            sigma[m] = np.sqrt(h) * self.mults[r]
            h = self.omega + self.alpha * h * eps[m] ** 2 + self.beta * h
            lv = self.vphi * lv + vnoise * eta[m]
            logv[m] = lv
        self.h, self.regime, self.logv = h, r, lv

        # -- intra-minute Brownian bridge + jumps
        r_min = sigma * eps                                    # (M, A)
        centred = z_bridge - z_bridge.mean(axis=1, keepdims=True)
        inc = (sigma / np.sqrt(spm))[:, None, :] * centred + (r_min / spm)[:, None, :]
        inc = inc.reshape(m_count * spm, n_assets)
        jumps = np.where(u_jump < self.jump_rate, s_jump, 0.0) * self.jump_scale
        jumps += np.where(u_mjump < self.market_jump_rate, s_mjump, 0.0)[:, None] * self.jump_scale
        inc += jumps
        logp = self.logp + np.cumsum(inc, axis=0)
        self.logp = logp[-1].copy()

        # -- volume: clustered level x response to the size of the move x regime
        jump_min = np.abs(jumps).reshape(m_count, spm, n_assets).sum(axis=1)
        move = (np.abs(r_min) + jump_min) / np.sqrt(self.h_unc)
        response = np.exp(self.elasticity * np.minimum(move, 12.0) - self.elasticity * 0.8)
        volume = np.exp(logv - 0.5 * self.vvol**2) * response * np.sqrt(self.mults[regime])[:, None]
        return LatentBlock(
            index=b, logp=logp, sigma=sigma, vol_ratio=sigma / np.sqrt(self.h_unc),
            volume=volume, regime=regime,
        )
