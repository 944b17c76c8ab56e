"""Typed settings of a ccxt venue and the ccxt constructor dict built from them.

`urls_override` points every API url of the exchange at another host (tests use
http://127.0.0.1:PORT): each url keeps its path, `https` becomes the override's scheme and
`wss` the matching websocket scheme. A mapping instead merges into `urls['api']` as is.
Credentials are held as SecretStr so a repr or a log line never shows them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class CcxtSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: str = Field(min_length=2)
    venue: str | None = None  # our venue name on bars and books; defaults to exchange_id
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    urls_override: str | dict[str, Any] | None = None
    timeout_ms: int = Field(default=10_000, ge=50)
    rate_limit_ms: float | None = Field(default=None, ge=0)  # None: ccxt's own figure
    spot_only: bool = True
    options: dict[str, Any] = {}

    @property
    def venue_name(self) -> str:
        return self.venue or self.exchange_id


def rebase_url(url: str, base: str) -> str:
    """`https://api.binance.com/api/v3` on `http://127.0.0.1:9` → `http://127.0.0.1:9/api/v3`."""
    src, dst = urlsplit(url), urlsplit(base)
    scheme = dst.scheme
    if src.scheme in ("ws", "wss"):
        scheme = "wss" if dst.scheme == "https" else "ws"
    path = dst.path.rstrip("/") + src.path
    return urlunsplit((scheme, dst.netloc, path, src.query, src.fragment))


def rebase_tree(node: Any, base: str) -> Any:
    if isinstance(node, str) and "://" in node:
        return rebase_url(node, base)
    if isinstance(node, dict):
        return {k: rebase_tree(v, base) for k, v in node.items()}
    return node


def spot_options(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Options that keep load_markets to the spot endpoints, where the venue allows it."""
    out: dict[str, Any] = {}
    fetch_markets = defaults.get("fetchMarkets")
    if isinstance(fetch_markets, dict) and "types" in fetch_markets:
        out["fetchMarkets"] = {**fetch_markets, "types": ["spot"]}
    elif isinstance(fetch_markets, list):
        out["fetchMarkets"] = ["spot"]
    if "fetchCurrencies" in defaults:
        out["fetchCurrencies"] = False  # an authenticated wallet call, not market data
    if "fetchMargins" in defaults:
        out["fetchMargins"] = False  # margin pair lists: we trade spot
    # fetch_open_orders(None) is the caller's explicit choice (it costs more weight)
    if "warnOnFetchOpenOrdersWithoutSymbol" in defaults:
        out["warnOnFetchOpenOrdersWithoutSymbol"] = False
    open_orders = defaults.get("fetchOpenOrders")
    if isinstance(open_orders, dict) and "warnWithoutSymbol" in open_orders:
        out["fetchOpenOrders"] = {**open_orders, "warnWithoutSymbol": False}
    if "defaultType" in defaults:
        out["defaultType"] = "spot"
    return out


def ccxt_config(settings: CcxtSettings, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The dict for `ccxt.<id>(config)`. `defaults` is a bare instance's `describe()`."""
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": settings.timeout_ms}
    if settings.rate_limit_ms is not None:
        config["rateLimit"] = settings.rate_limit_ms
    if settings.api_key is not None:
        config["apiKey"] = settings.api_key.get_secret_value()
    if settings.secret is not None:
        config["secret"] = settings.secret.get_secret_value()
    options = spot_options(defaults.get("options", {})) if settings.spot_only else {}
    config["options"] = {**options, **settings.options}
    if settings.urls_override is not None:
        urls = copy.deepcopy(dict(defaults.get("urls", {})))
        if isinstance(settings.urls_override, str):
            urls["api"] = rebase_tree(urls.get("api", {}), settings.urls_override)
        else:
            urls["api"] = {**urls.get("api", {}), **settings.urls_override}
        config["urls"] = urls
    return config
