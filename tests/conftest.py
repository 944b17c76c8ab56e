"""Shared fixtures: kept small. Area fixtures live in tests/*_fixtures.py modules."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone

import pytest

from infra.topology import load
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.strategies import kernels

if importlib.util.find_spec("tests.emulator_fixtures"):
    pytest_plugins = ["tests.emulator_fixtures"]

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _numpy_path_unless_a_test_enables_kernels():
    """A LocalPipeline turns the compiled signal kernels on for its process; a pipeline built
    by a test or a module's fixture must not leave them on for the tests after it (they test
    the numpy path). The kernels give the numpy path's floats, so a module whose pipeline runs
    on after its first test gives the same answers either way."""
    yield
    kernels.enable(False)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def store() -> SqliteStore:
    s = SqliteStore(":memory:")
    yield s
    s.close()


@pytest.fixture
def topology():
    return load()


@pytest.fixture
def bus(topology, clock, store) -> InProcessBus:
    return InProcessBus(topology, clock, store)
