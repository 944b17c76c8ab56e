import json
from datetime import UTC, datetime, timedelta

import pytest

from infra import cron
from infra.topology import load, parse, seconds
from shared.contracts import MESSAGE_TYPES, from_wire
from shared.errors import ConfigError


def test_every_message_type_has_exactly_one_topic():
    t = load()
    for name in MESSAGE_TYPES:
        if name in ("book_snapshot",):
            continue
        assert t.topic_for(name) in t.topics


def test_every_topic_has_a_dead_letter_topic_and_consumers():
    t = load()
    for topic in t.topics.values():
        assert topic.dead_letter_topic == f"{topic.name}-dlq"
        assert t.subscriptions_on(topic.name), f"{topic.name} has no subscription"


def test_subscriptions_reference_known_consumers_and_policies():
    t = load()
    assert t.subscriptions["executor-orders"].exactly_once
    assert t.subscriptions["executor-orders"].delivery == "pull"
    assert t.subscriptions["signal-bars"].ordering
    for sub in t.subscriptions.values():
        assert 5 <= sub.max_delivery_attempts <= 100
        assert sub.retry.delay(1) <= sub.retry.delay(3) <= seconds(sub.retry.maximum_backoff)


def test_scheduler_payloads_validate_into_their_contracts():
    t = load()
    for job in t.scheduler.values():  # the bare body Cloud Scheduler publishes, as is
        env = from_wire(json.dumps(job.payload).encode(), {"type": job.type}, message_id="1",
                        publish_time=datetime(2026, 1, 5, 2, tzinfo=UTC))
        body = env.decode()
        if job.type == "optimizer_request":
            window = body.resolved(env.ts)
            assert window.window_end == env.ts and window.window_end - window.window_start == timedelta(days=7)


def test_bad_topology_is_rejected_with_the_field_named():
    raw = {"version": 1, "topics": {"a": {"message_types": ["bar"]}},
           "subscriptions": {"s": {"topic": "nope", "consumer": "signal", "delivery": "push"}},
           "scheduler": {}, "functions": {"signal": {"entry_point": "signal"}}, "services": {}}
    with pytest.raises(ConfigError, match="unknown topic nope"):
        parse(raw)
    raw["subscriptions"]["s"].update(topic="a", delivery="push", exactly_once=True)
    with pytest.raises(ConfigError, match="exactly-once"):
        parse(raw)
    raw["subscriptions"]["s"].update(exactly_once=False, max_delivery_attempts=3)
    with pytest.raises(ConfigError, match="max_delivery_attempts"):
        parse(raw)


@pytest.mark.parametrize("expr,at,expected", [
    ("0 * * * *", datetime(2026, 1, 5, 7, 0), True),
    ("0 * * * *", datetime(2026, 1, 5, 7, 1), False),
    ("*/15 * * * *", datetime(2026, 1, 5, 7, 45), True),
    ("*/15 * * * *", datetime(2026, 1, 5, 7, 44), False),
    ("0 0 * * *", datetime(2026, 1, 6, 0, 0), True),
    ("30 0 * * 1", datetime(2026, 1, 5, 0, 30), True),   # 2026-01-05 is a Monday
    ("30 0 * * 0", datetime(2026, 1, 5, 0, 30), False),
    ("0 9-17/4 * * *", datetime(2026, 1, 5, 13, 0), True),
])
def test_cron(expr, at, expected):
    assert cron.matches(expr, at.replace(tzinfo=UTC)) is expected


def test_bad_cron_is_rejected():
    with pytest.raises(ValueError):
        cron.matches("61 * * * *", datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(ValueError):
        cron.matches("* * *", datetime(2026, 1, 5, tzinfo=UTC))
