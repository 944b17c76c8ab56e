"""Strategy plugins (pure numpy voters), their YAML configuration and the plugin registry."""

from shared.strategies.base import BarArrays, Strategy, VoteSeries
from shared.strategies.config import ParamSpec, StrategySpec, load_strategies
from shared.strategies.registry import PLUGINS, get_plugin, history_bars, latest_vote

__all__ = [
    "PLUGINS",
    "BarArrays",
    "ParamSpec",
    "Strategy",
    "StrategySpec",
    "VoteSeries",
    "get_plugin",
    "history_bars",
    "latest_vote",
    "load_strategies",
]
