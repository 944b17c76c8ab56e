"""Typed loader of `infra/topology.yaml`: the single list of topics, subscriptions,
dead-letter topics, retry policies, scheduler jobs, functions and services."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts import MESSAGE_TYPES
from shared.errors import ConfigError

TOPOLOGY_PATH = Path(__file__).with_name("topology.yaml")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def seconds(duration: str) -> float:
    """Parse a Pub/Sub duration such as '10s'."""
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"duration {duration!r} must look like '10s'")
    return float(match.group(1))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Frozen):
    minimum_backoff: str = "1s"
    maximum_backoff: str = "60s"

    @model_validator(mode="after")
    def _valid(self) -> RetryPolicy:
        lo, hi = seconds(self.minimum_backoff), seconds(self.maximum_backoff)
        if not (0 <= lo <= hi <= 600):
            raise ValueError("need 0 <= minimum_backoff <= maximum_backoff <= 600s")
        return self

    def delay(self, attempt: int) -> float:
        """Exponential backoff before delivery attempt `attempt + 1` (attempt >= 1)."""
        lo, hi = seconds(self.minimum_backoff), seconds(self.maximum_backoff)
        return min(hi, lo * (2 ** max(0, attempt - 1)))


class Topic(_Frozen):
    name: str
    description: str = ""
    publisher: str = ""
    message_types: tuple[str, ...]

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.name}-dlq"

    @property
    def dead_letter_subscription(self) -> str:
        return f"{self.name}-dlq-sub"


class Subscription(_Frozen):
    name: str
    topic: str
    consumer: str
    delivery: Literal["push", "pull"]
    ordering: bool = False
    exactly_once: bool = False
    filter: str | None = None
    ack_deadline_seconds: int = Field(default=60, ge=10, le=600)
    max_delivery_attempts: int = Field(default=5, ge=5, le=100)
    retry: RetryPolicy = RetryPolicy()

    @model_validator(mode="after")
    def _exactly_once_is_pull(self) -> Subscription:
        if self.exactly_once and self.delivery != "pull":
            raise ValueError("exactly-once delivery exists only for pull subscriptions")
        return self


class SchedulerJob(_Frozen):
    name: str
    cron: str
    topic: str
    type: str
    payload: dict[str, Any]
    time_zone: str = "Etc/UTC"


class FunctionSpec(_Frozen):
    name: str
    entry_point: str
    memory: str = "256Mi"
    timeout_seconds: int = Field(default=60, ge=1, le=540)
    min_instances: int = Field(default=0, ge=0)
    max_instances: int = Field(default=5, ge=1)
    secrets: tuple[str, ...] = ()


class ServiceSpec(_Frozen):
    name: str
    min_instances: int = 0
    max_instances: int = 1
    cpu: str = "1"
    memory: str = "512Mi"
    gpu: str | None = None
    secrets: tuple[str, ...] = ()


class Topology(_Frozen):
    version: int
    topics: dict[str, Topic]
    subscriptions: dict[str, Subscription]
    scheduler: dict[str, SchedulerJob]
    functions: dict[str, FunctionSpec]
    services: dict[str, ServiceSpec]

    @model_validator(mode="after")
    def _references(self) -> Topology:
        for sub in self.subscriptions.values():
            if sub.topic not in self.topics:
                raise ValueError(f"subscription {sub.name} names unknown topic {sub.topic}")
        for job in self.scheduler.values():
            if job.topic not in self.topics:
                raise ValueError(f"scheduler job {job.name} names unknown topic {job.topic}")
            if job.type not in self.topics[job.topic].message_types:
                raise ValueError(f"scheduler job {job.name}: topic {job.topic} does not carry {job.type}")
        for topic in self.topics.values():
            unknown = set(topic.message_types) - set(MESSAGE_TYPES)
            if unknown:
                raise ValueError(f"topic {topic.name} carries unknown types {sorted(unknown)}")
        for sub in self.subscriptions.values():
            if sub.delivery == "push" and sub.consumer not in self.functions:
                raise ValueError(f"push subscription {sub.name} targets unknown function {sub.consumer}")
        return self

    def subscriptions_of(self, consumer: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.consumer == consumer]

    def subscriptions_on(self, topic: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.topic == topic]

    def topic_for(self, message_type: str) -> str:
        """The topic that carries a message type (each type has exactly one home)."""
        homes = [t.name for t in self.topics.values() if message_type in t.message_types]
        if len(homes) != 1:
            raise ConfigError(f"message type {message_type!r} has {len(homes)} topics: {homes}")
        return homes[0]


def _named(section: dict[str, Any] | None, defaults: dict[str, Any] | None = None) -> dict:
    out = {}
    for name, spec in (section or {}).items():
        merged = {**(defaults or {}), **(spec or {}), "name": name}
        out[name] = merged
    return out


def parse(raw: dict[str, Any], source: str = "topology") -> Topology:
    defaults = raw.get("defaults", {}) or {}
    sub_defaults = {
        k: v for k, v in defaults.items() if k in ("ack_deadline_seconds", "max_delivery_attempts", "retry")
    }
    try:
        return Topology(
            version=raw.get("version", 1),
            topics=_named(raw.get("topics")),
            subscriptions=_named(raw.get("subscriptions"), sub_defaults),
            scheduler=_named(raw.get("scheduler")),
            functions=_named(raw.get("functions")),
            services=_named(raw.get("services")),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ConfigError(f"{source}: {where}: {first['msg']}") from exc


@lru_cache(maxsize=4)
def load(path: Path = TOPOLOGY_PATH) -> Topology:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read topology {path}: {exc}") from exc
    return parse(raw, str(path))
