"""The momentum and breakout instances as fast as they once shipped, for tests that need
strategy trades within an hour or two (the shipped ones are two-hour trend followers that
signal a few times a day)."""

from pathlib import Path

import yaml

FAST = {"momentum": {"lookback": 10, "threshold": 0.0035}, "momentum_ethbtc": {"lookback": 10, "threshold": 0.0025},
        "breakout": {"lookback": 30}, "breakout_ethbtc": {"lookback": 15}}


def write_fast_strategies(config: Path) -> Path:
    """Rewrite config/strategies/{momentum,breakout}.yaml under `config` with FAST values."""
    for name in ("momentum", "breakout"):
        path = config / "strategies" / f"{name}.yaml"
        items = yaml.safe_load(path.read_text())
        for item in items:
            for param, value in FAST[item["name"]].items():
                spec = item["params"][param]
                spec["value"] = value
                spec.pop("safe_min", None)
                spec.pop("safe_max", None)
        path.write_text(yaml.safe_dump(items, sort_keys=False))
    return config
