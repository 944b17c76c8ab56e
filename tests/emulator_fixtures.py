"""Fixtures of the emulator tests (loaded by tests/conftest.py as a pytest plugin).

- `emulator_hosts` (session): the official Pub/Sub and Firestore emulators. Uses
  PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST when they answer, else starts both on
  127.0.0.1 (infra/emulators.py) and stops them at the end of the session.
- `gcp_project`: a fresh project id per test; the emulators isolate state per project.
- `pubsub_bus`: a PubSubBus on that project with the topology created (push
  subscriptions created as pull, so tests can pull them).
- `firestore_store`: a FirestoreStore on that project.
"""

from __future__ import annotations

import os
import uuid

import pytest

from infra.emulators import Emulators
from infra.topology import load


@pytest.fixture(scope="session")
def emulator_hosts():
    saved = {k: os.environ.get(k) for k in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST",
                                            "GOOGLE_CLOUD_PROJECT")}
    emus = Emulators().start(timeout=90)
    emus.export()
    yield emus.env()
    emus.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def gcp_project(emulator_hosts) -> str:
    return f"tw-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pubsub_bus(gcp_project):
    from shared.adapters.gcp.pubsub_bus import PubSubBus

    bus = PubSubBus(load(), project=gcp_project)
    bus.ensure_topology()
    yield bus
    bus.close()


@pytest.fixture
def firestore_store(gcp_project):
    from shared.adapters.gcp.firestore_store import FirestoreStore

    store = FirestoreStore(project=gcp_project)
    yield store
    store.close()
