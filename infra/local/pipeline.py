"""The local composition root: every step wired through the topology on an in-process
bus, a SQLite store and a simulated clock, fed by the seeded market simulator, or with
`RunConfig.data` by stored 1-minute history (shared/market/history_market.py).

`LocalPipeline(RunConfig(...)).run()` replays N simulated hours minute by minute: the
feed closes bars, the scheduler fires its cron jobs, and the bus delivers until idle;
inside each minute the arbitrage scanner sees every book update (`scan_updates`).
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from infra import cron
from infra.local.equity import EquityCurve
from infra.topology import Topology, load
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.config.venues import MarketConfig, load_market_config
from shared.contracts import MESSAGE_TYPES, Envelope, Notification, wrap
from shared.contracts.envelope import derive_id
from shared.delivery import run_step
from shared.errors import ExchangeUnavailable
from shared.execution.paper import PaperExchange
from shared.execution.scanner_touch import MARGIN
from shared.execution.touch_screen import books_worth_building, worth_mask
from shared.handlers import executor, optimizer, risk, signal
from shared.ledger import book
from shared.market.depth import touch_book
from shared.market.history_market import HistoryMarket
from shared.market.reference import ReferenceMarket
from shared.market.simulator import MarketSimulator
from shared.risk.config import load_risk_config
from shared.strategies import kernels

log = logging.getLogger("tradewinds.pipeline")
# The cyclic collector's thresholds while a replay runs. Python's default (700, 10, 10) runs a
# collection every 700 net container allocations and a full one every 100 of those: a replay
# allocates millions of short-lived dicts and lists, and the full collections walk a heap of
# ~1M objects (~5 % of a replay's CPU). Reference counting still frees everything acyclic at
# once; a young cycle waits for 20,000 allocations instead of 700, one that reached the oldest
# generation for at least ~21M instead of ~85k (a full collection also waits until a quarter
# of the long-lived objects are new; RSS by hour: bench/pipeline.py --hours 720).
REPLAY_GC_THRESHOLDS = (20_000, 20, 50)
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass
class RunConfig:
    hours: float = 24
    seed: int = 7
    venues: list[str] | None = None
    start: datetime = DEFAULT_START
    config_dir: Path = Path("config")
    runs_dir: Path = Path("runs")
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6])
    crash: tuple[str, float, float] | None = None  # (asset, hours from start, drop pct)
    predictor: str | None = None  # URL of an LSTM predictor service; None: no LSTM voter
    arbitrage: bool = True  # run the executor's arbitrage scanner on the books at every update
    resume: bool = False  # continue the run `run_id` from its last replayed minute
    data: Path | None = None  # replay this ParquetBarHistory root's 1-minute bars, not the simulator
    market_regime: str = "random"  # the simulator's market: random, trend, range, mixed (shared/market/regimes.py)

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.run_id


def market_for(cfg: RunConfig) -> MarketConfig:
    market = load_market_config(cfg.config_dir / "venues.yaml")
    if cfg.venues:
        unknown = set(cfg.venues) - {v.name for v in market.venues}
        if unknown:
            raise ValueError(f"unknown venues {sorted(unknown)}; configured: {[v.name for v in market.venues]}")
        market = market.model_copy(update={"venues": [v for v in market.venues if v.name in cfg.venues]})
    return market


REPLAY = ("state", "replay")


def resumed(cfg: RunConfig, replay: dict) -> RunConfig:
    """The run's own market settings (seed, start, venues, crash, market regime) with today's `hours`."""
    crash = tuple(replay["crash"]) if replay.get("crash") else None
    return replace(cfg, seed=replay["seed"], start=datetime.fromisoformat(replay["start"]),
                   venues=replay["venues"], crash=crash, arbitrage=replay.get("arbitrage", True),
                   market_regime=replay.get("market_regime", "random"),
                   predictor=replay.get("predictor") if cfg.predictor is None else cfg.predictor)


class LocalPipeline:
    CONSUMERS = ("signal", "risk", "executor", "notification", "optimizer")

    def __init__(self, cfg: RunConfig, topology: Topology | None = None, store=None):
        self.topology = topology or load()
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        # the replay's store writes its file in batches (write-behind), flushed at the end of run()
        self.store = store or SqliteStore(cfg.run_dir / "state.sqlite", write_behind=True)
        replay = self.store.get(*REPLAY)
        if cfg.resume:
            if replay is None:
                raise ValueError(f"run {cfg.run_id} has no replay to resume in {cfg.run_dir}")
            cfg = resumed(cfg, replay)  # the market of the run, not of today's options
        elif replay is not None:
            raise ValueError(f"run {cfg.run_id} exists in {cfg.run_dir}: resume it or pick a new id")
        self.market = market_for(cfg)
        if cfg.data is not None:  # stored 1-minute history: the pairs it holds, from where it starts
            self.sim = HistoryMarket(self.market, cfg.data, cfg.start, cfg.hours, seed=cfg.seed)
            self.market, cfg = self.sim.config, replace(cfg, start=self.sim.start)
        else:
            self.sim = MarketSimulator(self.market, seed=cfg.seed, start=cfg.start, regime=cfg.market_regime)
        self.cfg = cfg
        self.clock = SimulatedClock(cfg.start)
        if cfg.crash:
            asset, after_h, pct = cfg.crash
            self.sim.plant_crash(asset, cfg.start + timedelta(hours=after_h), pct)
        # marks-only symbols (BNB, GBP): their own seeded walk, the main market untouched
        self.reference = ReferenceMarket(self.market, seed=cfg.seed, start=cfg.start, schedule=self.sim.schedule)
        if replay is not None:  # the market moves on to where the run stopped; its bars were handled
            at = datetime.fromisoformat(replay["now"])
            self.sim.advance(at)
            self.reference.advance(at)
            self.clock.set(at)
        # the signal step's regime and indicators compiled (the same floats; TW_NUMBA=0: numpy)
        kernels.enable()
        self.bus = InProcessBus(self.topology, self.clock, self.store)
        self.secrets = EnvFileSecrets()
        venues = tuple(v.name for v in self.market.enabled_venues)
        self.paper = PaperExchange(
            books=self.sim.book, clock=self.clock,
            fees_bps={v.name: Decimal(v.taker_fee_bps) for v in self.market.enabled_venues},
            latency_ms=self.sim.latency_ms, is_up=self.sim.is_up)
        common = {"store": self.store, "clock": self.clock, "bus": self.bus, "secrets": self.secrets,
                  "config_dir": str(cfg.config_dir)}
        self.deps = {
            "signal": signal.build_deps(**common, predictor=cfg.predictor),
            "risk": risk.RiskDeps(load_risk_config(cfg.config_dir / "risk.yaml"), self.clock, venues,
                                  tuple(self.market.symbols), store=self.store,
                                  reference_symbols=tuple(r.symbol for r in self.market.reference_symbols)),
            "executor": executor.build_deps(**common, venue=self.paper),
            "optimizer": optimizer.build_deps(**common),
            "notification": self._notification_deps(),
        }
        self.modules = {"signal": signal, "risk": risk, "executor": executor, "optimizer": optimizer,
                        "notification": self._notification_module()}
        self.arb = self._arbitrage_engine() if cfg.arbitrage else None
        with self.store.transaction() as tx:  # the paper portfolio every venue starts with
            book.seed_balances(tx, venues, self.deps["risk"].config.portfolio.start_balances)
        for consumer in self.CONSUMERS:
            for sub in self.topology.subscriptions_of(consumer):
                self.bus.subscribe(sub.name, partial(self._deliver, consumer))
        self.bars_published = 0
        self.equity_curve = EquityCurve()  # (minute, total PnL) at the end of every minute

    # -- wiring ---------------------------------------------------------------------------
    def _arbitrage_engine(self):
        from shared.execution.arbitrage import build_engine
        from shared.execution.config import load_executor_config

        cfg = load_executor_config(self.cfg.config_dir / "executor.yaml")
        venues = {v.name: self.paper for v in self.market.enabled_venues}
        return build_engine(self.market, cfg, venues, self.sim.book, self.clock)

    def scan_updates(self, until: datetime) -> list:
        """The executor's hot path at every simulator book update (grid step, 5 s) before
        `until`, as the executor scans each update in production: the books are built and
        scanned where the touches show an edge (`Scanner.worth_scanning`; elsewhere a scan
        could only record near misses), and the executions booked at once. The steps whose
        touches show no edge even in floats are screened out a minute at a time (`_screen`). Stepping the
        simulator changes neither its random stream nor its bars; the bars that close on the
        way (none when the run starts on a whole minute) are returned for the caller to
        publish at `until`, as before."""
        if self.arb is None:
            return []
        step, bars, times = timedelta(seconds=self.sim.step_s), [], []
        t = self.clock.now() + step
        while t < until:
            times.append(t)
            t += step
        for t, maybe in zip(times, self._screen(times)):
            if not maybe:
                continue  # no edge at the touches: the scan there could not trade
            self.clock.set(t)
            bars += self.sim.advance(t)
            tops = self._tops()
            if self.arb.scanner.worth_scanning(tops, t):
                self.scan_arbitrage(tops)
                self.bus.drain()
                self.arb.writer.flush(self.store)
        return bars

    def _screen(self, times: list[datetime]) -> list[bool]:
        """Which of the grid steps `times` may be worth a scan: all of them, unless the market
        gives their plain touches at once (`touch_prices`), when the float pre-screen
        (shared/execution/touch_screen.py) leaves out the steps the exact check would
        reject. A step left out is not visited: the market and the clock move on to the
        next one looked at (advancing in bigger steps gives the same market)."""
        touch_prices = getattr(self.sim, "touch_prices", None)
        prices = touch_prices(times[0], len(times)) if times and touch_prices else None
        if prices is None:
            return [True] * len(times)
        return worth_mask(self.arb.scanner, prices, len(times)).tolist()

    def _tops(self) -> dict:
        tops = {}
        for venue in self.market.enabled_venues:
            for symbol in self.market.symbols_of(venue.name):
                try:
                    tops[(venue.name, symbol)] = self.sim.top(venue.name, symbol)
                except ExchangeUnavailable:
                    continue  # the venue is in a simulated outage
        return tops

    def scan_arbitrage(self, tops: dict | None = None) -> None:
        """The executor's hot path on the books now: executions go to `executions`. An L2
        book is built only when a pair or cycle it is in shows an edge net of fees at the
        touches (`touch_screen.books_worth_building`, with a margin); elsewhere the scan
        finds no opportunity and reads its near misses from the touches alone, so books of
        their touches scan the same."""
        from shared.execution.arbitrage import inventory_from_store

        tops = self._tops() if tops is None else tops  # the touches now (the caller's, when it read them)
        books = {key: touch_book(top) for key, top in tops.items()}
        # full depth only where a pair or cycle shows an edge: elsewhere the touches tell all
        for key in books_worth_building(self.arb.scanner, tops, self.clock.now(), MARGIN):
            books[key] = self.sim.book(*key)
        self.arb.gate.refresh(self.store)
        for ex in self.arb.scan_and_execute(books, inventory_from_store(self.store), self.clock):
            self.bus.publish("executions", wrap(ex, ts=self.clock.now(), id=ex.execution_id),
                             ordering_key=ex.symbol)

    def _notification_module(self):
        from shared.handlers import notification

        return notification

    def _notification_deps(self):
        from shared.handlers import notification

        return notification.build_deps(
            store=self.store, clock=self.clock, secrets=self.secrets,
            config_path=self.cfg.config_dir / "notifications.yaml", local_dir=self.cfg.run_dir)

    def _deliver(self, consumer: str, envelope: Envelope) -> None:
        module = self.modules[consumer]
        run_step(envelope, consumer=consumer, handle=partial(module.handle, deps=self.deps[consumer]),
                 store=self.store, bus=self.bus, clock=self.clock, topology=self.topology)

    # -- the replay -----------------------------------------------------------------------
    def publish_bar(self, bar) -> None:
        env = wrap(bar, ts=self.clock.now(), id=derive_id("bar", bar.key))
        self.bus.publish("market-bars", env, ordering_key=bar.symbol)
        self.bars_published += 1

    REPORTS = ("hourly_summary", "daily_reset")

    def fire_scheduler(self, at: datetime) -> None:
        """The jobs due at `at`; the reports last, after what the others settle (a transfer
        completed by the rebalance check is in the hour it completed in)."""
        due = [j for j in self.topology.scheduler.values() if cron.matches(j.cron, at)]
        def is_report(job) -> bool:
            return job.payload.get("command") in self.REPORTS

        for batch in ([j for j in due if not is_report(j)], [j for j in due if is_report(j)]):
            for job in batch:
                body = MESSAGE_TYPES[job.type].model_validate(job.payload)  # as Cloud Scheduler sends it
                self.bus.publish(job.topic, wrap(body, ts=at, id=derive_id(job.name, at.isoformat())))
            self.bus.drain()

    def step_minute(self) -> None:
        at = self.clock.now() + timedelta(minutes=1)
        early = self.scan_updates(at)  # the arbitrage at every book update inside the minute
        self.clock.set(at)
        for bar in [*early, *self.sim.advance(at)]:
            self.publish_bar(bar)
        for bar in self.reference.advance(at):  # marks only: the signal step runs no strategy
            self.publish_bar(bar)
        self.bus.drain()
        if self.arb is not None:
            self.scan_arbitrage()
            self.bus.drain()
            self.arb.writer.flush(self.store)
        # the scheduler's jobs last: a report at `at` sees everything of minute `at`
        self.fire_scheduler(at)
        self.bus.drain()
        self.store.put(*REPLAY, {
            "now": at.isoformat(), "seed": self.cfg.seed, "start": self.cfg.start.isoformat(),
            "venues": [v.name for v in self.market.enabled_venues], "crash": self.cfg.crash,
            "arbitrage": self.cfg.arbitrage, "predictor": self.cfg.predictor,
            "market_regime": self.cfg.market_regime})
        self.equity_curve.append(at, self.trading_pnl())

    def trading_pnl(self) -> Decimal:
        """Total PnL (change of NAV net of every cost: `shared.ledger.nav`), in the quote currency."""
        from shared.ledger.summary import trading_pnl

        return trading_pnl(self.store, self.deps["risk"].config.portfolio.quote)

    def announce_start(self) -> None:
        now = self.clock.now()
        venues = ", ".join(v.name for v in self.market.enabled_venues)
        note = Notification(
            kind="startup", title=f"Tradewinds {'resumed' if self.cfg.resume else 'started'} (paper, replay)",
            text=f"Venues: {venues}. Symbols: {', '.join(self.market.symbols)}. Seed {self.cfg.seed}.",
            dedupe_key=f"startup:{self.cfg.run_id}:{now.isoformat()}", created_at=now)
        self.bus.publish("notifications", wrap(note, ts=now, id=derive_id("startup", f"{self.cfg.run_id}@{now}")))
        self.bus.drain()

    def run(self, on_minute: Callable[[int], None] | None = None) -> None:
        minutes = round(self.cfg.hours * 60)
        with replay_gc():
            self.announce_start()
            for i in range(minutes):
                self.step_minute()
                if on_minute:
                    on_minute(i + 1)
            self.flush()
        if isinstance(self.store, SqliteStore):
            self.store.flush()  # the file is the whole run now (write-behind)

    def flush(self, horizon: timedelta = timedelta(minutes=15)) -> None:
        """Let pending redeliveries run out (bounded) after the last bar."""
        deadline = self.clock.now() + horizon
        while self.bus.pending() and self.clock.now() < deadline:
            nxt = datetime.fromtimestamp(self.bus.next_due(), UTC)
            self.clock.set(max(self.clock.now(), min(nxt, deadline)))
            self.bus.drain()


@contextmanager
def replay_gc(thresholds: tuple[int, int, int] = REPLAY_GC_THRESHOLDS) -> Iterator[None]:
    """The collector's thresholds set to `thresholds` inside, restored after (also on error)."""
    before = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*before)
