"""The feed's composition root: config → sources → bus → FeedService, once per instance.

FEED_SOURCE=config (default) follows each venue's `kind` in config/venues.yaml,
`simulated` or `ccxt` forces every venue to one kind. The bus is Pub/Sub when
TRADEWINDS_BUS=pubsub (Cloud Run, emulator), else the in-process bus (or the bus passed
to `build_service`).
The feed reads public market data only: it takes no exchange credentials.
"""

from __future__ import annotations

import os

from runtime.feed.config import FeedConfig
from runtime.feed.service import FeedService
from runtime.feed.sources import FeedSource, SimulatedMarket, SimulatedSource
from shared.clock import WallClock
from shared.config.venues import MarketConfig, load_market_config
from shared.ports import Bus, Clock


def build_sources(market: MarketConfig, config: FeedConfig, clock: Clock) -> list[FeedSource]:
    sources: list[FeedSource] = []
    shared_market: SimulatedMarket | None = None
    kinds = {v.name: v.kind if config.source == "config" else config.source for v in market.enabled_venues}
    for venue in market.enabled_venues:
        kind = kinds[venue.name]
        symbols = market.symbols_of(venue.name)
        references = market.reference_symbols_of(venue.name)  # bars for marks only
        if kind == "ccxt":
            from runtime.feed.sources import CcxtSource
            from shared.adapters.ccxt import CcxtExchange

            exchange = CcxtExchange(venue.ccxt_id or venue.name, venue=venue.name,
                                    timeout_ms=5_000)
            sources.append(CcxtSource(exchange, symbols, depth=config.book_depth, clock=clock,
                                      stream_options={"poll_interval_s": config.poll_interval_s},
                                      reference_symbols=references))
        else:
            if shared_market is None:
                from shared.market.reference import ReferenceMarket
                from shared.market.simulator import MarketSimulator

                # a 1 s grid: books change well inside `stale_after_s`
                sim = MarketSimulator(market, config.seed, clock.now(), update_interval_s=1.0)
                simulated = [name for name, k in kinds.items() if k != "ccxt"]
                shared_market = SimulatedMarket(sim, reference=ReferenceMarket(
                    market, config.seed, clock.now(), venues=simulated, schedule=sim.schedule))
            sources.append(SimulatedSource(shared_market, venue.name, symbols, references))
    return sources


def build_bus(clock: Clock) -> Bus:
    from infra.topology import load

    if os.environ.get("TRADEWINDS_BUS") == "pubsub":
        from shared.adapters.gcp.pubsub_bus import PubSubBus

        return PubSubBus(load())
    from shared.adapters.local.bus import InProcessBus
    from shared.adapters.local.sqlite_store import SqliteStore

    return InProcessBus(load(), clock, SqliteStore(":memory:"))


def build_service(*, bus: Bus | None = None, clock: Clock | None = None,
                  venues_path: str | None = None) -> FeedService:
    """The feed from the environment; `tradewinds up` passes the bus (and clock, venues file)
    it shares with the executor and the function steps in one process."""
    clock = clock or WallClock()
    config = FeedConfig.from_env()
    market = load_market_config(venues_path or os.environ.get("TRADEWINDS_VENUES", "config/venues.yaml"))
    return FeedService(build_sources(market, config, clock), bus if bus is not None else build_bus(clock),
                       clock, config)
