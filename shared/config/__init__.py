"""Typed configuration: YAML files validated once into frozen pydantic models."""

from shared.config.loader import load_yaml_model
from shared.config.venues import (
    AssetConfig,
    InstrumentConfig,
    LatentConfig,
    MarketConfig,
    RegimeConfig,
    VenueConfig,
    VenueSimConfig,
    load_market_config,
)

__all__ = [
    "AssetConfig", "InstrumentConfig", "LatentConfig", "MarketConfig", "RegimeConfig",
    "VenueConfig", "VenueSimConfig", "load_market_config", "load_yaml_model",
]
