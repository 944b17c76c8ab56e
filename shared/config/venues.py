"""Venues, instruments and the latent market process: the typed form of config/venues.yaml.

`reference_symbols` are kept for their marks only (fee currencies, GBP): each names the
venue whose 1-minute bars set its mark; nothing trades them.

A new simulated (or ccxt) venue is a YAML entry, not a code change. Every model is
frozen and rejects unknown fields, so a typo fails at start-up with the field named.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared.config.loader import load_yaml_model

DEFAULT_PATH = "config/venues.yaml"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VenueSimConfig(_Frozen):
    """How a simulated venue quotes the latent market."""

    lag_ms: float = Field(default=250.0, ge=0, le=60_000)
    noise_bps: float = Field(default=1.0, ge=0, le=100)
    noise_half_life_s: float = Field(default=15.0, gt=0)
    spread_bps: float = Field(default=2.0, gt=0, le=500)
    depth_levels: int = Field(default=25, ge=20, le=500)
    level_step_bps: float = Field(default=1.0, gt=0, le=100)
    top_size_scale: float = Field(default=1.0, gt=0)
    size_decay: float = Field(default=0.93, gt=0, le=1)
    volume_share: float = Field(default=1.0, ge=0)
    dislocation_rate_per_hour: float = Field(default=4.0, ge=0)
    dislocation_bps: float = Field(default=6.0, ge=0)
    dislocation_big_prob: float = Field(default=0.1, ge=0, le=1)
    dislocation_big_bps: float = Field(default=25.0, ge=0)
    dislocation_max_bps: float = Field(default=80.0, ge=0)
    dislocation_half_life_s: float = Field(default=20.0, gt=0)
    base_latency_ms: float = Field(default=40.0, ge=0)
    latency_jitter_ms: float = Field(default=15.0, ge=0)
    # seeded random incidents (0 = none; tests and replays can also schedule them)
    outages_per_day: float = Field(default=0.0, ge=0)
    outage_minutes: float = Field(default=5.0, gt=0)
    stale_books_per_day: float = Field(default=0.0, ge=0)
    stale_seconds: float = Field(default=45.0, gt=0)
    latency_spikes_per_day: float = Field(default=0.0, ge=0)
    latency_spike_ms: float = Field(default=400.0, ge=0)
    latency_spike_seconds: float = Field(default=60.0, gt=0)


class VenueConfig(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9_\-]+$")
    kind: Literal["simulated", "ccxt"] = "simulated"
    ccxt_id: str | None = None
    enabled: bool = True
    taker_fee_bps: Decimal = Field(ge=0, le=1000)
    maker_fee_bps: Decimal = Field(ge=-100, le=1000)
    symbols: list[str] | None = None
    sim: VenueSimConfig = VenueSimConfig()

    @model_validator(mode="after")
    def _ccxt_needs_id(self) -> VenueConfig:
        if self.kind == "ccxt" and not self.ccxt_id:
            raise ValueError(f"venue {self.name!r}: kind ccxt needs ccxt_id")
        return self

    @property
    def taker_fee(self) -> Decimal:
        """Taker fee as a fraction (10 bps -> 0.001)."""
        return self.taker_fee_bps / Decimal(10_000)

    @property
    def maker_fee(self) -> Decimal:
        return self.maker_fee_bps / Decimal(10_000)

    def lists(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols


class InstrumentConfig(_Frozen):
    """Per-symbol market conventions and liquidity."""

    tick_size: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    top_size: float = Field(gt=0, description="typical size at the touch, base units")
    base_volume_per_min: float = Field(gt=0, description="typical 1-minute volume, base units")
    dislocation_scale: float = Field(default=1.0, ge=0)


class AssetConfig(_Frozen):
    """The latent (venue-independent) price process of one asset, in the quote currency."""

    initial_price: float = Field(gt=0)
    annual_vol: float = Field(gt=0, le=5)
    garch_alpha: float = Field(default=0.08, ge=0, lt=1)
    garch_beta: float = Field(default=0.90, ge=0, lt=1)
    tail_df: float = Field(default=5.0, gt=2.0)
    market_correlation: float = Field(default=0.8, ge=0, le=1)
    jump_rate_per_day: float = Field(default=4.0, ge=0)
    jump_scale_bps: float = Field(default=25.0, ge=0)
    volume_persistence: float = Field(default=0.97, ge=0, lt=1)
    volume_vol: float = Field(default=0.25, ge=0)

    @model_validator(mode="after")
    def _stationary(self) -> AssetConfig:
        if self.garch_alpha + self.garch_beta >= 1:
            raise ValueError("garch_alpha + garch_beta must be < 1 (stationary variance)")
        return self


class ReferenceSymbolConfig(_Frozen):
    """A symbol kept for its mark only (a fee currency such as BNB, the GBP rate of the cold
    sweep): no strategy, no arbitrage, no books; its closed 1-minute bars come from `venue`."""

    symbol: str = Field(pattern=r"^[A-Z0-9]+/[A-Z0-9]+$", description="BASE/QUOTE")
    venue: str = Field(min_length=1)
    start_price: Decimal | None = Field(default=None, gt=0)  # the simulator's first price
    daily_vol_pct: float = Field(default=1.0, gt=0, le=50)   # the simulator's daily volatility
    tick_size: Decimal = Field(default=Decimal("0.0001"), gt=0)  # the simulator's price grid


class RegimeConfig(_Frozen):
    name: str
    vol_mult: float = Field(gt=0)
    mean_minutes: float = Field(gt=1)


class LatentConfig(_Frozen):
    """Market-wide knobs: volatility regimes, common jumps, volume response."""

    regimes: list[RegimeConfig] = Field(
        default_factory=lambda: [
            RegimeConfig(name="calm", vol_mult=0.6, mean_minutes=240),
            RegimeConfig(name="normal", vol_mult=1.0, mean_minutes=360),
            RegimeConfig(name="turbulent", vol_mult=2.2, mean_minutes=60),
        ],
        min_length=1,
    )
    initial_regime: int = Field(default=1, ge=0)
    market_jump_rate_per_day: float = Field(default=3.0, ge=0)
    volume_return_elasticity: float = Field(default=0.35, ge=0)


class MarketConfig(_Frozen):
    quote: str = "USDT"
    assets: dict[str, AssetConfig]
    instruments: dict[str, InstrumentConfig]
    symbols: list[str] = Field(min_length=1)
    venues: list[VenueConfig] = Field(min_length=1)
    triangles: list[tuple[str, str, str]] = []
    reference_symbols: list[ReferenceSymbolConfig] = []
    latent: LatentConfig = LatentConfig()

    @field_validator("symbols")
    @classmethod
    def _symbols_known(cls, symbols: list[str], info: ValidationInfo) -> list[str]:
        assets = set(info.data.get("assets") or {}) | {info.data.get("quote", "USDT")}
        instruments = info.data.get("instruments") or {}
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols are listed twice")
        for symbol in symbols:
            base, sep, quote = symbol.partition("/")
            if not sep or not base or not quote:
                raise ValueError(f"{symbol!r} is not BASE/QUOTE")
            missing = {base, quote} - assets
            if missing:
                raise ValueError(f"{symbol}: no latent process for {sorted(missing)} under assets")
            if symbol not in instruments:
                raise ValueError(f"{symbol}: missing from instruments")
        return symbols

    @field_validator("venues")
    @classmethod
    def _venues_consistent(cls, venues: list[VenueConfig], info: ValidationInfo) -> list[VenueConfig]:
        symbols = set(info.data.get("symbols") or [])
        names = [v.name for v in venues]
        if len(set(names)) != len(names):
            raise ValueError(f"venue names must be unique: {names}")
        for venue in venues:
            unknown = set(venue.symbols or []) - symbols
            if unknown and symbols:
                raise ValueError(f"venue {venue.name!r} lists symbols not in `symbols`: {sorted(unknown)}")
        return venues

    @field_validator("triangles")
    @classmethod
    def _triangles_tradeable(cls, triangles: list[tuple[str, str, str]], info: ValidationInfo):
        symbols = set(info.data.get("symbols") or [])
        for tri in triangles:
            if len(set(tri)) != 3:
                raise ValueError(f"triangle {tri} needs three different assets")
            for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
                if f"{a}/{b}" not in symbols and f"{b}/{a}" not in symbols:
                    raise ValueError(f"triangle {tri}: no symbol trades {a} against {b}")
        return triangles

    @field_validator("reference_symbols")
    @classmethod
    def _references_apart(cls, refs: list[ReferenceSymbolConfig], info: ValidationInfo):
        traded = set(info.data.get("symbols") or [])
        quote = info.data.get("quote", "USDT")
        known = {quote} | {a for s in traded for a in s.split("/")}
        venues = {v.name: v for v in info.data.get("venues") or []}
        seen: set[str] = set()
        for i, ref in enumerate(refs):
            at = f"reference_symbols[{i}]"
            base, _, ref_quote = ref.symbol.partition("/")
            if base == ref_quote:
                raise ValueError(f"{at}.symbol: {ref.symbol} trades an asset against itself")
            if ref.symbol in traded:
                raise ValueError(f"{at}.symbol: {ref.symbol} is a traded symbol (`symbols`): "
                                 "a reference symbol is for marks only")
            if ref.symbol in seen:
                raise ValueError(f"{at}.symbol: {ref.symbol} is listed twice")
            seen.add(ref.symbol)
            others = known | {a for r in refs if r is not ref for a in r.symbol.split("/")}
            if not {base, ref_quote} & others:
                raise ValueError(f"{at}.symbol: {ref.symbol} cannot be valued: neither {base} nor "
                                 f"{ref_quote} is {quote} or an asset of another symbol")
            if "venues" in info.data and ref.venue not in venues:
                raise ValueError(f"{at}.venue: {ref.venue!r} is not a configured venue "
                                 f"({sorted(venues)})")
            if ref.venue in venues and venues[ref.venue].kind == "simulated" and ref.start_price is None:
                raise ValueError(f"{at}.start_price: needed: venue {ref.venue!r} is simulated")
        return refs

    @model_validator(mode="after")
    def _regime_index(self) -> MarketConfig:
        if self.latent.initial_regime >= len(self.latent.regimes):
            raise ValueError("latent.initial_regime is past the end of latent.regimes")
        return self

    def venue(self, name: str) -> VenueConfig:
        for venue in self.venues:
            if venue.name == name:
                return venue
        raise KeyError(f"unknown venue {name!r}; configured: {[v.name for v in self.venues]}")

    @property
    def enabled_venues(self) -> list[VenueConfig]:
        return [v for v in self.venues if v.enabled]

    def symbols_of(self, venue: str) -> list[str]:
        """The symbols a venue quotes, in the market's symbol order."""
        cfg = self.venue(venue)
        return [s for s in self.symbols if cfg.lists(s)]

    def reference_symbols_of(self, venue: str) -> list[str]:
        """The reference symbols (marks only) `venue` quotes."""
        return [r.symbol for r in self.reference_symbols if r.venue == venue]

    @property
    def mark_symbols(self) -> list[str]:
        """Every symbol with a mark: the traded ones, then the reference ones."""
        return [*self.symbols, *(r.symbol for r in self.reference_symbols)]

    def pair_for(self, a: str, b: str) -> str | None:
        """The listed symbol trading asset `a` against `b` (either direction), if any."""
        for symbol in (f"{a}/{b}", f"{b}/{a}"):
            if symbol in self.symbols:
                return symbol
        return None


def load_market_config(path: str | Path = DEFAULT_PATH) -> MarketConfig:
    """Load the market config; a relative path missing from the working directory is
    looked up from the repository root, so `make run` works from any directory."""
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        path = _REPO_ROOT / path
    return load_yaml_model(path, MarketConfig)
