"""Per-venue circuit breaker on an injected clock."""

from datetime import timedelta

from shared.clock import SimulatedClock
from shared.execution.breaker import Breakers, BreakerState, CircuitBreaker
from shared.execution.config import BreakerConfig
from tests.executor_fixtures import T0


def breaker():
    clock = SimulatedClock(T0)
    return CircuitBreaker("okx", clock, BreakerConfig()), clock


def test_opens_after_five_consecutive_failures_and_refuses_for_sixty_seconds():
    b, clock = breaker()
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.CLOSED and b.allow()
    b.record_success()  # a success resets the count: failures must be consecutive
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.advance(timedelta(seconds=59))
    assert not b.allow()
    clock.advance(timedelta(seconds=1))
    assert b.state is BreakerState.HALF_OPEN


def test_half_open_allows_one_request_at_a_time_and_closes_after_three_successes():
    b, clock = breaker()
    for _ in range(5):
        b.record_failure()
    clock.advance(60)
    for i in range(3):
        assert b.allow()          # the single trial
        assert not b.allow()      # nothing else while it is in flight
        assert b.state is BreakerState.HALF_OPEN
        b.record_success()
    assert b.state is BreakerState.CLOSED
    assert all(b.allow() for _ in range(10))


def test_a_failure_while_half_open_reopens_for_another_full_period():
    b, clock = breaker()
    for _ in range(5):
        b.record_failure()
    clock.advance(60)
    assert b.allow()
    b.record_success()
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.advance(59)
    assert b.state is BreakerState.OPEN
    clock.advance(1)
    assert b.state is BreakerState.HALF_OPEN


def test_breakers_are_per_venue():
    clock = SimulatedClock(T0)
    breakers = Breakers(clock)
    for _ in range(5):
        breakers["okx"].record_failure()
    assert breakers["okx"].state is BreakerState.OPEN and breakers["binance"].state is BreakerState.CLOSED
    assert {s["venue"]: s["state"] for s in breakers.snapshot()} == {"okx": "open", "binance": "closed"}
