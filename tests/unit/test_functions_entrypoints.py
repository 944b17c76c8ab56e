"""The Cloud Function entry points under the real functions-framework app, fed a
structured CloudEvent (Eventarc) and the raw Pub/Sub push body the emulator sends."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import functions_framework
import pytest

from functions import bootstrap
from infra.topology import load
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import OptimizerRequest, wrap

ROOT = Path(__file__).resolve().parents[2]
SOURCE = str(ROOT / "functions" / "main.py")
T0 = datetime(2026, 1, 5, tzinfo=UTC)


class FakeBus:
    """Records what the step publishes and dead-letters (a fake of our Bus port)."""

    def __init__(self):
        self.published: list[tuple[str, str]] = []
        self.dead: list[tuple[str, dict, str]] = []

    def publish(self, topic, envelope, ordering_key=None) -> str:
        self.published.append((topic, envelope.id))
        return str(len(self.published))

    def subscribe(self, subscription, handler) -> None:
        raise NotImplementedError

    def dead_letter(self, topic, data, attributes, reason, **extra) -> str:
        self.dead.append((topic, dict(attributes), reason))
        return "dlq-1"


class BrokenStore(SqliteStore):
    def transaction(self):
        raise ConnectionError("firestore unavailable")


@pytest.fixture
def wired(tmp_path, monkeypatch):
    monkeypatch.delenv("TW_MAX_EVENT_AGE_S", raising=False)
    store, bus = SqliteStore(":memory:"), FakeBus()
    bootstrap.install(bootstrap.Infra(store=store, bus=bus, clock=bootstrap.MessageClock(),
                                      secrets=EnvFileSecrets(tmp_path), topology=load(),
                                      config_dir=str(ROOT / "config")))
    yield store, bus
    bootstrap.install(None)


def client(target: str):
    return functions_framework.create_app(target=target, source=SOURCE, signature_type="cloudevent").test_client()


def request_env(strategy="momentum"):
    body = OptimizerRequest(strategy=strategy, reason="manual", window_start=T0 - timedelta(days=7), window_end=T0)
    return wrap(body, ts=T0, id=f"req-{strategy}")


def message(envelope=None, data: bytes | None = None, attributes=None, message_id="1001",
            published: datetime | None = None) -> dict:
    data = envelope.to_json() if envelope is not None else data
    return {"data": base64.b64encode(data).decode(), "attributes": attributes or (envelope.attributes() if envelope else {}),
            "messageId": message_id, "publishTime": (published or datetime.now(UTC)).isoformat().replace("+00:00", "Z")}


def post_raw(c, msg: dict, topic="optimizer-requests"):
    body = {"message": {**msg, "message_id": msg["messageId"]}, "subscription": "projects/p/subscriptions/optimizer-requests"}
    return c.post(f"/projects/p/topics/{topic}", json=body)


def post_structured(c, msg: dict, topic="optimizer-requests"):
    headers = {"ce-id": msg["messageId"], "ce-specversion": "1.0",
               "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
               "ce-source": f"//pubsub.googleapis.com/projects/p/topics/{topic}",
               "ce-time": msg["publishTime"], "Content-Type": "application/json"}
    return c.post("/", headers=headers, json={"message": msg, "subscription": "projects/p/subscriptions/x"})


@pytest.mark.parametrize("post", [post_raw, post_structured], ids=["raw-push", "structured"])
def test_event_runs_the_step_once_and_records_state(wired, post):
    store, _ = wired
    c = client("optimizer")
    env = request_env()
    assert post(c, message(env)).status_code == 200
    assert post(c, message(env, message_id="1002")).status_code == 200  # redelivery, same envelope id
    jobs = store.query("optimizer_jobs")
    assert [d["strategy"] for _, d in jobs] == ["momentum"]
    assert store.get("processed", f"optimizer:{env.id}") is not None


@pytest.mark.parametrize("post", [post_raw, post_structured], ids=["raw-push", "structured"])
def test_permanent_error_is_dead_lettered_and_acked(wired, post):
    store, bus = wired
    bad = message(data=b'{"not": "an envelope"', attributes={"type": "optimizer_request"})
    assert post(client("optimizer"), bad).status_code == 200
    assert len(bus.dead) == 1
    topic, _attributes, reason = bus.dead[0]
    assert topic == "optimizer-requests" and reason.startswith("permanent: payload is not JSON")
    assert store.query("processed") == []


def test_unknown_type_without_source_topic_goes_to_the_steps_topic(wired):
    _, bus = wired
    env = request_env().model_copy(update={"type": "no_such_type"})
    c = client("optimizer")
    headers = {"ce-id": "9", "ce-specversion": "1.0", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
               "ce-source": "//pubsub.googleapis.com/", "ce-time": T0.isoformat()}
    assert c.post("/", headers=headers, json={"message": message(env)}).status_code == 200
    assert bus.dead[0][0] == "optimizer-requests" and "unknown message type" in bus.dead[0][2]


def test_transient_error_answers_500_for_redelivery(wired, tmp_path):
    _store, bus = wired
    bootstrap.install(bootstrap.Infra(store=BrokenStore(":memory:"), bus=bus, clock=bootstrap.MessageClock(),
                                      secrets=EnvFileSecrets(tmp_path), topology=load(),
                                      config_dir=str(ROOT / "config")))
    resp = post_raw(client("optimizer"), message(request_env()))
    assert resp.status_code == 500
    assert bus.dead == []


def test_stale_event_is_dropped(wired, monkeypatch):
    store, bus = wired
    monkeypatch.setenv("TW_MAX_EVENT_AGE_S", "60")
    old = message(request_env(), published=datetime.now(UTC) - timedelta(minutes=5))
    assert post_raw(client("optimizer"), old).status_code == 200
    assert store.query("optimizer_jobs") == [] and bus.dead == []


def test_handler_clock_follows_the_envelope(wired):
    store, _ = wired
    post_raw(client("optimizer"), message(request_env()))
    (_, job), = store.query("optimizer_jobs")
    assert job["created_at"] == T0.isoformat()  # event time, not arrival time


def test_every_entry_point_is_registered():
    for target in ("signal", "risk", "notification", "optimizer"):
        assert client(target) is not None


def test_importing_the_functions_module_stays_light():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import functions.main"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    heavy = [m for m in modules if m.split(".")[0] in ("tensorflow", "pandas", "ccxt", "numpy")
             or m.startswith(("google.cloud.pubsub", "google.cloud.firestore", "google.cloud.secretmanager"))]
    assert heavy == []
    assert "functions.entry" in modules


def test_a_message_of_the_wrong_type_for_its_topic_is_dead_lettered_not_run(wired):
    """A Control pushed through the optimizer's subscription (topic optimizer-requests carries
    only optimizer_request) is refused before the step runs: no job, no claim, one dead letter
    on the topic it came from (pushed to <url>/projects/P/topics/T, as Terraform and the local
    stack configure the push subscriptions)."""
    from shared.contracts import Command, Control

    store, bus = wired
    env = wrap(Control(command=Command.HALT, reason="forged", actor="nobody", issued_at=T0), ts=T0, id="ctl-1")
    c = client("optimizer")
    body = {"message": {**message(env), "message_id": "77"},
            "subscription": "projects/p/subscriptions/optimizer-requests"}
    assert c.post("/projects/p/topics/optimizer-requests", json=body).status_code == 200
    [(topic, _attrs, reason)] = bus.dead
    assert topic == "optimizer-requests" and "wrong type for topic" in reason and "'control'" in reason
    assert store.query("optimizer_jobs") == [] and store.query("processed") == []
