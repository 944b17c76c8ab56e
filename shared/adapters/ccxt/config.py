"""Typed settings of a ccxt venue and the ccxt constructor dict built from them.

`urls_override` points every API url of the exchange at another host (tests use
http://127.0.0.1:PORT): each url keeps its path, `https` becomes the override's scheme and
`wss` the matching websocket scheme. A mapping instead merges into `urls['api']` as is.
Credentials are held as SecretStr so a repr or a log line never shows them.

Exchange keys, one story (docs/live.md): the secret `exchange-keys` holds one JSON document,
venue name (as in config/venues.yaml) -> credentials:

    {"binance": {"api_key": "...", "secret": "..."},
     "okx": {"api_key": "...", "secret": "...", "password": "<API passphrase>"},
     "bybit": {"api_key": "...", "secret": "...", "sandbox": true}}

`password` is the API passphrase some venues require (OKX, Coinbase Exchange, KuCoin);
`sandbox: true` says the keys were issued by the venue's testnet and sends every call there
(ccxt's `set_sandbox_mode`; a venue without a sandbox in ccxt is refused). Locally, without
`exchange-keys`, the per-venue secrets `<venue>-api-key` / `<venue>-api-secret` are read
instead (`shared.execution.live.venue_keys`). `parse_exchange_keys` validates the document
and never echoes a value in its errors.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

EXCHANGE_KEYS = "exchange-keys"
KEYS_FORMAT = '{"<venue>": {"api_key": "...", "secret": "...", "password": "(some venues)", "sandbox": false}}'


class VenueKeys(BaseModel):
    """One venue's entry in the `exchange-keys` secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr = Field(min_length=1)
    secret: SecretStr = Field(min_length=1)
    password: SecretStr | None = None  # the API passphrase (OKX, Coinbase Exchange, KuCoin)
    sandbox: bool = False  # testnet keys: every call goes to the venue's sandbox


def parse_exchange_keys(text: str) -> dict[str, VenueKeys]:
    """The `exchange-keys` secret as {venue: VenueKeys}; ValueError naming the venue and the
    field (never a value) when it is not that shape."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"secret {EXCHANGE_KEYS} is not JSON (line {exc.lineno}); want {KEYS_FORMAT}") from None
    if not isinstance(doc, dict) or not doc:
        raise ValueError(f"secret {EXCHANGE_KEYS} must be a JSON object of venues: {KEYS_FORMAT}")
    out = {}
    for venue, entry in doc.items():
        try:
            out[venue] = VenueKeys.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "entry"
            raise ValueError(f"secret {EXCHANGE_KEYS}: venue {venue!r}: {where}: {first['msg']}; "
                             f"want {KEYS_FORMAT}") from None
    return out


class CcxtSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: str = Field(min_length=2)
    venue: str | None = None  # our venue name on bars and books; defaults to exchange_id
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None  # API passphrase, where the venue has one
    sandbox: bool = False  # the venue's testnet (see `apply_sandbox`)
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
    if settings.password is not None:
        config["password"] = settings.password.get_secret_value()
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


def apply_sandbox(exchange: Any, settings: CcxtSettings) -> None:
    """Point a constructed ccxt exchange at its testnet when `settings.sandbox` (ccxt's own
    `set_sandbox_mode`, which also sets the venue-specific flags, e.g. OKX's simulated-trading
    header). A venue without a sandbox in ccxt is a ValueError, never a silent live call."""
    if not settings.sandbox:
        return
    if not (getattr(exchange, "urls", None) or {}).get("test"):
        raise ValueError(f"{settings.exchange_id} has no sandbox/testnet in ccxt: remove \"sandbox\" "
                         f"from its {EXCHANGE_KEYS} entry or use a venue that has one")
    exchange.set_sandbox_mode(True)
