"""Least privilege on the bus: who may publish to which topic, from infra/topology.yaml.

The expected bindings are derived here in Python from topology.yaml, independently of the
HCL, and compared with (a) the real Terraform evaluation of pubsub_iam.tf's locals (the
terraform binary needs no provider for locals) and (b) the shape of the resources that
consume them. No identity may hold a Pub/Sub role on the project.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_terraform import (
    STACK,
    TF,
    TF_FILES,
    TOPOLOGY_YAML,
    blocks,
    parse,
    stack_locals,
)

TERRAFORM = shutil.which("terraform")
PUBSUB_IAM = STACK / "pubsub_iam.tf"
ALIASES = {"telegram": "executor"}  # the executor serves the Telegram webhook
NO_GRANT = {"scheduler"}  # Cloud Scheduler's service agent publishes with its own role


def raw() -> dict[str, Any]:
    return yaml.safe_load(TOPOLOGY_YAML.read_text())


def tokens(publisher: str) -> list[str]:
    return [part.strip().split()[0] for part in str(publisher or "").split(",") if part.strip()]


def identity_of(step: str, topo: dict[str, Any]) -> str | None:
    step = ALIASES.get(step, step)
    if step in topo["functions"]:
        return f"fn-{step}"
    if step in topo["services"]:
        return f"run-{step}"
    return None


def expected_grants(topo: dict[str, Any], requeue: bool = True, executor_runs: bool = True) -> set[tuple[str, str]]:
    """(topic or "<topic>-dlq", identity) pairs the stack must grant roles/pubsub.publisher on."""
    named: dict[str, set[str]] = {}
    for topic, spec in topo["topics"].items():
        ids = {identity_of(t, topo) for t in tokens(spec.get("publisher", ""))}
        named[topic] = {i for i in ids if i}
    reporters = set().union(*named.values())
    grants = set()
    for topic, spec in topo["topics"].items():
        who = reporters if "*" in tokens(spec.get("publisher", "")) else named[topic]
        grants |= {(topic, i) for i in who}
        if requeue and executor_runs:
            grants.add((topic, "run-executor"))
    for sub in topo["subscriptions"].values():
        consumer = identity_of(sub["consumer"], topo)
        if consumer:
            grants.add((f"{sub['topic']}-dlq", consumer))
    return grants


def by_identity(grants: set[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for topic, identity in grants:
        out.setdefault(identity, set()).add(topic)
    return out


# ---------------------------------------------------------------- the derivation itself


def test_derivation_matches_what_each_step_really_publishes():
    """Stated by hand from the code: who publishes what (requeue off, so only topology)."""
    got = by_identity(expected_grants(raw(), requeue=False))
    # feed: bars and book tops, plus notifications (it reports) — never orders.
    assert {"market-bars", "book-tops", "notifications"} <= got["run-feed"]
    assert "orders" not in got["run-feed"]
    # risk is the only publisher of orders and risk decisions.
    assert {i for i, topics in got.items() if "orders" in topics} == {"fn-risk"}
    assert {i for i, topics in got.items() if "risk-decisions" in topics} == {"fn-risk"}
    # the executor's API and the Telegram commands publish control; executions are its own.
    assert {"executions", "control"} <= got["run-executor"]
    # notification publishes nothing but its own dead letters.
    assert got["fn-notification"] and all(t.endswith("-dlq") for t in got["fn-notification"])
    # the predictor publishes nothing at all.
    assert "run-predictor" not in got
    # a consumer may dead-letter only what it consumes: signal reads bars and control.
    assert {t for t in got["fn-signal"] if t.endswith("-dlq")} == {"market-bars-dlq", "control-dlq"}


def test_every_publisher_token_in_the_topology_is_understood():
    topo = raw()
    known = set(topo["functions"]) | set(topo["services"]) | set(ALIASES) | NO_GRANT | {"cli", "*"}
    for name, spec in topo["topics"].items():
        assert spec.get("publisher"), f"topic {name} names no publisher"
        assert set(tokens(spec["publisher"])) <= known, (name, spec["publisher"])


# ---------------------------------------------------------------- no project-wide Pub/Sub roles


def test_no_identity_holds_a_pubsub_role_on_the_project():
    locs = stack_locals()
    for roles in list(locs["project_roles"].values()) + list(locs["vertex_roles"].values()):
        assert not [r for r in roles if r.startswith("roles/pubsub.")], roles
    for path in TF_FILES:
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                if rtype.startswith(("google_project_iam", "google_organization_iam", "google_folder_iam")):
                    for name, body in named.items():
                        assert "pubsub" not in str(body.get("role", "")), f"{path}: {rtype}.{name}"


def test_publisher_roles_are_granted_only_per_topic():
    """Every publisher grant in terraform/ is one of: ours (per topic from the topology), the
    operators' `cli` grant, or the Pub/Sub service agent on a dead-letter topic."""
    allowed = {
        ("tradewinds", "google_pubsub_topic_iam_member.publisher"),
        ("tradewinds", "google_pubsub_topic_iam_member.operator"),
        ("topic", "google_pubsub_topic_iam_member.dead_letter_publisher"),
        ("push_subscription", "google_pubsub_topic_iam_member.dead_letter_publisher"),
        ("pull_subscription", "google_pubsub_topic_iam_member.dead_letter_publisher"),
    }
    found = set()
    for path in TF_FILES:
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    if "publisher" in str(body.get("role", "")) or "roles/pubsub.editor" in str(body.get("role", "")):
                        found.add((path.parent.name, f"{rtype}.{name}"))
    assert found == allowed
    for module in ("topic", "push_subscription", "pull_subscription"):
        grant = blocks("resource", TF / "modules" / module)["google_pubsub_topic_iam_member.dead_letter_publisher"]
        assert grant["member"] == "serviceAccount:${var.pubsub_service_agent_email}", module


def test_the_grants_are_wired_to_the_derived_map():
    res = blocks("resource")
    ours = res["google_pubsub_topic_iam_member.publisher"]
    assert ours["for_each"] == "${local.topic_publisher_grants}"
    assert ours["role"] == "roles/pubsub.publisher"
    assert ours["member"] == "${local.sa_member[each.value.identity]}"
    assert ours["topic"] == ("${each.value.dead_letter ? module.topic[each.value.topic].dead_letter_topic_id "
                             ": module.topic[each.value.topic].id}")
    assert "local.unknown_publishers" in str(ours["lifecycle"])
    ops = res["google_pubsub_topic_iam_member.operator"]
    assert ops["for_each"] == "${local.operator_publisher_grants}"
    assert ops["member"] == "${each.value.member}" and ops["topic"] == "${module.topic[each.value.topic].id}"
    text = (STACK / "variables.tf").read_text()
    block = text.split('variable "operator_publishers"')[1].split("\n}\n")[0]
    assert '!contains(["allUsers", "allAuthenticatedUsers"], m)' in block


def test_subscriber_rights_are_per_subscription():
    pull = blocks("module")["pull_subscription"]
    assert pull["subscriber_members"] == (
        '${contains(keys(local.services), each.value.consumer) ? '
        '{consumer = local.sa_member["run-${each.value.consumer}"]} : {}}')
    consumer = blocks("resource", TF / "modules" / "pull_subscription")["google_pubsub_subscription_iam_member.consumer"]
    assert consumer["subscription"] == "${google_pubsub_subscription.this.name}"
    assert consumer["role"] == "roles/pubsub.subscriber"
    # Functions are pushed to (OIDC invoker), they never pull: no subscriber grant for fn-*.
    topo = raw()
    pullers = {s["consumer"] for s in topo["subscriptions"].values() if s["delivery"] == "pull"}
    assert not pullers & set(topo["functions"])


# ---------------------------------------------------------------- Terraform evaluates the same set


def _locals_block(path: Path) -> str:
    match = re.search(r"^locals \{\n.*?^\}\n", path.read_text(), re.DOTALL | re.MULTILINE)
    assert match, f"no locals block in {path}"
    return match.group(0)


def _evaluate(tmp_path: Path, topology: str, requeue: bool, operators: list[str],
              backend: str = "cloud_run") -> dict[str, Any]:
    work = tmp_path / "terraform" / "modules" / "tradewinds"
    work.mkdir(parents=True)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "topology.yaml").write_text(topology)
    shutil.copy(STACK / "topology.tf", work / "topology.tf")
    (work / "pubsub_locals.tf").write_text(_locals_block(PUBSUB_IAM))
    (work / "probe.tf").write_text(
        f'variable "predictor_backend" {{\n  default = "{backend}"\n}}\n'
        f'variable "dead_letter_requeue" {{\n  default = {str(requeue).lower()}\n}}\n'
        f'variable "operator_publishers" {{\n  default = {json.dumps(operators)}\n}}\n')
    env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin",
           "TF_CLI_CONFIG_FILE": str(tmp_path / "none.tfrc")}
    init = subprocess.run([TERRAFORM, "init", "-input=false", "-backend=false"], check=False, cwd=work,
                          env=env, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    expr = ("jsonencode({grants = local.topic_publisher_grants, operators = local.operator_publisher_grants, "
            "unknown = local.unknown_publishers})")
    out = subprocess.run([TERRAFORM, "console"], check=False, cwd=work, env=env, input=expr + "\n",
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(json.loads(out.stdout.strip().splitlines()[-1]))


def _as_pairs(grants: dict[str, Any]) -> set[tuple[str, str]]:
    pairs = set()
    for key, g in grants.items():
        topic = f"{g['topic']}-dlq" if g["dead_letter"] else g["topic"]
        assert key == f"{topic}/{g['identity']}", key
        pairs.add((topic, g["identity"]))
    return pairs


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not on PATH; locals cannot be evaluated")
@pytest.mark.parametrize("requeue", [True, False])
def test_terraform_grants_exactly_the_derived_bindings(tmp_path: Path, requeue: bool):
    ops = ["group:tradewinds-ops@example.com"]
    got = _evaluate(tmp_path, TOPOLOGY_YAML.read_text(), requeue, ops)
    assert got["unknown"] == []
    assert _as_pairs(got["grants"]) == expected_grants(raw(), requeue=requeue)
    cli_topics = {t for t, spec in raw()["topics"].items() if "cli" in tokens(spec.get("publisher", ""))}
    assert cli_topics, "topology.yaml no longer names a `cli` publisher"
    assert {(g["topic"], g["member"]) for g in got["operators"].values()} == {(t, ops[0]) for t in cli_topics}


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not on PATH; locals cannot be evaluated")
def test_an_unknown_publisher_is_reported_not_dropped(tmp_path: Path):
    text = TOPOLOGY_YAML.read_text()
    typo = re.sub(r"(\n  orders:\n(?:    .*\n)*?    publisher: )risk", r"\1riks", text, count=1)
    assert typo != text
    got = _evaluate(tmp_path, typo, True, [])
    assert got["unknown"] == ["orders: riks"]
    assert not any(g["topic"] == "orders" and g["identity"] == "fn-risk" for g in got["grants"].values())
