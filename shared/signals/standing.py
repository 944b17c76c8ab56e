"""Which voters trade with real size: out-of-sample expectancy after fees, per voter.

Every voter (a strategy instance or the LSTM) keeps a paper position per venue/symbol from
its own votes, spot long-only like the ensemble: a BUY vote opens it at the bar's close, a
SELL vote closes it (a flat vote changes nothing). A closed paper trade is scored on bars
that came after the vote, so it is out of sample: gross = (exit / entry - 1) x 10,000 bps,
net = gross - 2 x the venue's taker fee (a round trip).

Per voter, over its latest `window_trades` scored paper trades (config/signals.yaml):
- `warming_up`: fewer than `min_trades` of them;
- `standing_aside`: the mean net return (its expectancy) is <= 0; from `kelly_min_trades`
  trades (risk.yaml sizing) the why also gives the Kelly fraction p - (1-p)/b of the net
  returns, which has the expectancy's sign: the sizing would bet nothing, and says so;
- `standing_aside` too while the expectancy is under `min_t_stat` standard errors (sample
  standard deviation / sqrt(n)) above zero: a positive mean that noise could give;
- `live`: otherwise. Only a live voter keeps its ensemble weight; the others vote on paper
  (weight 0: tracked and scored, never sized). A voter recovers as soon as its window is
  positive again.

The record lives in `strategy_state/{voter}` (outcomes, state, why, figures, since), written
by the signal step when a paper trade closes or the voter's params version changes (with
`reset_on_new_params`, a new version starts a new out-of-sample record).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.config.loader import load_yaml_model
from shared.errors import ConfigError
from shared.ports import Store, Transaction
from shared.risk.sizing import kelly_figures

COLLECTION = "strategy_state"
LIVE, STANDING_ASIDE, WARMING_UP = "live", "standing_aside", "warming_up"


@dataclass(frozen=True)
class StandingConfig:
    window_trades: int = 30
    min_trades: int = 10
    kelly_min_trades: int = 20
    reset_on_new_params: bool = True
    enabled: bool = True  # False: every voter trades with its weight (still scored on paper)
    dilute: bool = False  # True: a voter standing aside counts as flat in the consensus
    min_t_stat: float = 0.0  # the expectancy must be this many standard errors above zero

    def __post_init__(self) -> None:
        if not 1 <= self.min_trades <= self.window_trades:
            raise ValueError(f"need 1 <= min_trades ({self.min_trades}) <= window_trades ({self.window_trades})")


class _Gate(BaseModel):
    """config/signals.yaml `standing_aside`, validated (ConfigError names file and field)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    window_trades: int = Field(30, ge=1)
    min_trades: int = Field(10, ge=1)
    reset_on_new_params: bool = True
    enabled: bool = True
    dilute: bool = False
    min_t_stat: float = Field(0.0, ge=0)


class _SignalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standing_aside: _Gate = _Gate()


def load_standing_config(config_dir: str | Path = "config") -> StandingConfig:
    """config/signals.yaml `standing_aside` (defaults when absent) + risk.yaml kelly_min_trades."""
    root = Path(config_dir)
    gate = _Gate()
    if (root / "signals.yaml").is_file():
        gate = load_yaml_model(root / "signals.yaml", _SignalsFile).standing_aside
    kelly = StandingConfig.kelly_min_trades
    if (root / "risk.yaml").is_file():
        from shared.risk.config import load_risk_config

        kelly = load_risk_config(root / "risk.yaml").sizing.kelly_min_trades
    try:
        return StandingConfig(window_trades=gate.window_trades, min_trades=gate.min_trades, kelly_min_trades=kelly,
                              reset_on_new_params=gate.reset_on_new_params, enabled=gate.enabled,
                              dilute=gate.dilute, min_t_stat=gate.min_t_stat)
    except ValueError as exc:
        raise ConfigError(f"{root / 'signals.yaml'}: standing_aside: {exc}") from None


@dataclass(frozen=True)
class Verdict:
    state: str  # live | standing_aside | warming_up
    why: str
    figures: dict

    @property
    def live(self) -> bool:
        return self.state == LIVE


def verdict(outcomes: Sequence[Sequence], cfg: StandingConfig) -> Verdict:
    """The state from scored paper trades, each [net_bps, gross_bps, fee_bps, ...], oldest first."""
    window = list(outcomes)[-cfg.window_trades:]
    n = len(window)
    if n < cfg.min_trades:
        return Verdict(WARMING_UP, f"{n} of {cfg.min_trades} scored paper trades: votes on paper until then",
                       {"trades": n, "min_trades": cfg.min_trades})
    net = [float(o[0]) for o in window]
    gross = statistics.fmean(float(o[1]) for o in window)
    fee = statistics.fmean(float(o[2]) for o in window)
    expectancy = statistics.fmean(net)
    figures = {"trades": n, "expectancy_bps": round(expectancy, 3), "gross_bps": round(gross, 3),
               "round_trip_fee_bps": round(fee, 3), "win_rate": round(sum(1 for x in net if x > 0) / n, 4)}
    kelly = kelly_figures(net) if n >= cfg.kelly_min_trades else None
    basis = (f"over the last {n} paper trades: gross {gross:+.2f} bps - round-trip fee {fee:.2f} bps "
             f"= {expectancy:+.2f} bps per trade")
    if kelly is not None:  # same sign as the expectancy: p*W - (1-p)*L > 0 <=> kelly > 0
        figures.update(kelly=round(kelly[0], 4), payoff=round(kelly[2], 4))
        basis += f"; Kelly {kelly[0]:+.3f} (win rate {kelly[1]:.2f}, payoff {kelly[2]:.2f})"
    if expectancy <= 0:
        sizing = "; sizing would bet nothing" if kelly is not None else ""
        return Verdict(STANDING_ASIDE, f"expectancy after fees {expectancy:+.2f} bps <= 0 {basis}{sizing}", figures)
    if cfg.min_t_stat > 0:
        if n < 2:  # one trade has no spread to measure: it cannot be told apart from noise
            return Verdict(STANDING_ASIDE, f"expectancy after fees {expectancy:+.2f} bps from one paper "
                           f"trade: min_t_stat {cfg.min_t_stat:g} needs two or more {basis}", figures)
        spread = statistics.stdev(net)
        t = expectancy / (spread / n ** 0.5) if spread > 0 else float("inf")  # identical gains: surely > 0
        figures["t_stat"] = round(t, 3) if t != float("inf") else None
        if t < cfg.min_t_stat:
            return Verdict(STANDING_ASIDE, f"expectancy after fees {expectancy:+.2f} bps is {t:.2f} standard errors "
                           f"above zero, under min_t_stat {cfg.min_t_stat:g}: not told apart from noise {basis}",
                           figures)
    return Verdict(LIVE, f"expectancy after fees {expectancy:+.2f} bps > 0 {basis}", figures)


def paper_step(paper: dict, voter: str, sign: int, close: float, at: str, fee_bps: float,
               version: int) -> list | None:
    """Move `voter`'s paper position in `paper` (one venue/symbol) by its vote's sign; return
    the scored trade [net_bps, gross_bps, fee_bps, closed_at, version] when a SELL closes it."""
    held = paper.get(voter)
    if sign > 0 and held is None:
        paper[voter] = [close, at, version]
    elif sign < 0 and held is not None:
        del paper[voter]
        gross = (close / float(held[0]) - 1.0) * 10_000
        fee = 2 * fee_bps
        return [round(gross - fee, 6), round(gross, 6), fee, at, int(held[2])]
    return None


def load(tx: Transaction, voter: str) -> dict:
    return tx.get(COLLECTION, voter) or {"name": voter, "state": WARMING_UP, "outcomes": [], "params_version": 0}


def record(tx: Transaction, doc: dict, new: Sequence[list], version: int, now: datetime,
           cfg: StandingConfig) -> tuple[dict, Verdict | None]:
    """Add scored trades (and a new params version) to a voter's doc, re-judge and save it.
    Returns the doc and the verdict when the state changed (else None)."""
    outcomes = list(doc.get("outcomes", []))
    if cfg.reset_on_new_params and version > int(doc.get("params_version", 0)):
        outcomes = []
    if cfg.reset_on_new_params:
        new = [o for o in new if int(o[4]) >= version]  # opened under older params: not this record
    outcomes = (outcomes + list(new))[-cfg.window_trades:]
    judged = verdict(outcomes, cfg)
    changed = judged.state != doc.get("state") or "why" not in doc
    at = now.isoformat()
    doc = {**doc, "outcomes": outcomes, "params_version": max(version, int(doc.get("params_version", 0))),
           "state": judged.state, "why": judged.why, "figures": judged.figures, "updated_at": at,
           "since": at if changed else doc.get("since", at),
           "paper_trades": int(doc.get("paper_trades", 0)) + len(new)}
    tx.put(COLLECTION, doc["name"], doc)
    if changed:
        tx.put("audit", f"strategy-state-{doc['name']}-{at}", {
            "kind": "strategy_state", "at": at, "strategy": doc["name"], "state": judged.state,
            "why": judged.why, "figures": judged.figures})
    return doc, judged if changed else None


def is_live(doc: Mapping) -> bool:
    return doc.get("state") == LIVE


def strategy_states(store: Store) -> dict[str, dict]:
    """Each voter's state for the summary and the console: {name: {state, why, figures, since,
    paper_trades}}; a voter that never closed a paper trade has no document yet."""
    out = {}
    for name, doc in sorted(store.query(COLLECTION), key=lambda kv: kv[0]):
        out[name] = {"state": doc.get("state", WARMING_UP), "why": doc.get("why", ""),
                     "figures": dict(doc.get("figures", {})), "since": doc.get("since"),
                     "paper_trades": int(doc.get("paper_trades", 0)),
                     "params_version": int(doc.get("params_version", 0))}
    return out
