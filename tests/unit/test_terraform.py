"""Offline checks of terraform/: formatting, parsing, topology coverage, IAM, pins.

The google provider cannot be downloaded here, so `terraform validate/plan` cannot run.
What can: `terraform fmt`, python-hcl2 parsing, a Python mirror of the locals that turn
infra/topology.yaml into for_each maps, and (when the terraform binary is present) the
real Terraform evaluation of those locals, which needs no provider.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from typer.testing import CliRunner

from infra.cli.deploy import app as deploy_app
from infra.topology import load

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
STACK = TF / "modules" / "tradewinds"
TOPOLOGY_YAML = REPO / "infra" / "topology.yaml"
MAIN_PY = REPO / "functions" / "main.py"
TF_FILES = sorted(TF.rglob("*.tf"))
TERRAFORM = shutil.which("terraform")
PUBLIC = ("allUsers", "allAuthenticatedUsers")
GPU_REGIONS = {"us-central1", "europe-west1", "europe-west4", "asia-southeast1", "us-east4"}

# Every role an identity may hold at project level (iam.tf `project_roles`/`vertex_roles`)
# and on the data bucket (`data_bucket_roles`). Widening one is a reviewed change here.
# Publishing is granted per topic (pubsub_iam.tf, tests/unit/test_terraform_iam.py), never here.
ALLOWED_PROJECT_ROLES = {
    "fn-signal": {"roles/datastore.user", "roles/aiplatform.user"},
    "fn-risk": {"roles/datastore.user"},
    "fn-notification": {"roles/datastore.user"},
    "fn-optimizer": {"roles/datastore.user"},
    "run-feed": {"roles/datastore.user", "roles/monitoring.metricWriter"},  # the GMP sidecar writes
    "run-executor": {"roles/datastore.user", "roles/monitoring.metricWriter"},
    "run-predictor": {"roles/monitoring.metricWriter"},
    "fn-build": {"roles/cloudbuild.builds.builder"},
}
ALLOWED_BUCKET_ROLES = {
    "run-feed": {"roles/storage.objectUser"},
    "fn-optimizer": {"roles/storage.objectViewer"},
    "run-predictor": {"roles/storage.objectViewer"},
}
FORBIDDEN_ROLES = ("roles/owner", "roles/editor", "roles/viewer", "roles/iam.securityAdmin")


# ---------------------------------------------------------------- helpers


def _clean(value: Any) -> Any:
    """python-hcl2 keeps HCL quoting ('"x"') and adds __is_block__; strip both."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parse(path: Path) -> dict[str, Any]:
    """Parsed once per run (python-hcl2 is slow); callers must not mutate the result."""
    with path.open() as handle:
        return _clean(hcl2.load(handle))


def blocks(kind: str, directory: Path = STACK) -> dict[str, dict[str, Any]]:
    """`module` or `resource` blocks of a directory as {"type.name" or "name": body}."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for entry in parse(path).get(kind, []):
            for first, body in entry.items():
                if kind == "resource":
                    for name, inner in body.items():
                        out[f"{first}.{name}"] = inner
                else:
                    out[first] = body
    return out


def stack_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(STACK.glob("*.tf")):
        for entry in parse(path).get("locals", []):
            merged.update(entry)
    return merged


def _strip_comments(text: str) -> str:
    return "\n".join(re.sub(r"(^|\s)(#|//).*$", "", line) for line in text.splitlines())


def raw_topology() -> dict[str, Any]:
    return yaml.safe_load(TOPOLOGY_YAML.read_text())


def mirror(raw: dict[str, Any], predictor_backend: str = "cloud_run") -> dict[str, Any]:
    """Python twin of terraform/modules/tradewinds/topology.tf `locals`."""
    d = raw["defaults"]
    subs = {
        name: {
            "topic": s["topic"],
            "consumer": s["consumer"],
            "delivery": s["delivery"],
            "ordering": s.get("ordering", False),
            "exactly_once": s.get("exactly_once", False),
            "filter": s.get("filter"),
            "ack_deadline_seconds": s.get("ack_deadline_seconds", d["ack_deadline_seconds"]),
            "max_delivery_attempts": s.get("max_delivery_attempts", d["max_delivery_attempts"]),
            "minimum_backoff": s.get("retry", {}).get("minimum_backoff", d["retry"]["minimum_backoff"]),
            "maximum_backoff": s.get("retry", {}).get("maximum_backoff", d["retry"]["maximum_backoff"]),
        }
        for name, s in raw["subscriptions"].items()
    }
    functions = {
        name: {
            "entry_point": f["entry_point"],
            "memory": f.get("memory", "256Mi"),
            "timeout_seconds": f.get("timeout_seconds", 60),
            "min_instances": f.get("min_instances", 0),
            "max_instances": f.get("max_instances", 5),
            "secrets": list(f.get("secrets", [])),
        }
        for name, f in raw["functions"].items()
    }
    services = {
        name: {
            "min_instances": s.get("min_instances", 0),
            "max_instances": s.get("max_instances", 1),
            "cpu": s.get("cpu", "1"),
            "memory": s.get("memory", "512Mi"),
            "gpu": s.get("gpu"),
            "secrets": list(s.get("secrets", [])),
        }
        for name, s in raw["services"].items()
        if not (s.get("gpu") is not None and predictor_backend == "vertex")
    }
    secret_access = {f"fn-{n}/{s}": {"identity": f"fn-{n}", "secret": s} for n, f in functions.items() for s in f["secrets"]}
    secret_access |= {f"run-{n}/{s}": {"identity": f"run-{n}", "secret": s} for n, v in services.items() for s in v["secrets"]}
    return {
        "topics": sorted(raw["topics"]),
        "push_subscriptions": {n: s for n, s in subs.items() if s["delivery"] == "push"},
        "pull_subscriptions": {n: s for n, s in subs.items() if s["delivery"] == "pull"},
        "scheduler_jobs": {
            n: {
                "cron": j["cron"],
                "topic": j["topic"],
                "type": j["type"],
                "data": json.dumps(j["payload"], sort_keys=True, separators=(",", ":")),
                "time_zone": j.get("time_zone", "Etc/UTC"),
            }
            for n, j in raw["scheduler"].items()
        },
        "functions": functions,
        "services": services,
        "secret_ids": sorted({s for f in raw["functions"].values() for s in f.get("secrets", [])}
                             | {s for v in raw["services"].values() for s in v.get("secrets", [])}),
        "secret_access": {k: v for k, v in secret_access.items()},
    }


def resource_addresses(derived: dict[str, Any]) -> set[str]:
    """The addresses the stack's for_each maps create, keyed exactly as Terraform keys them."""
    return (
        {f'module.topic["{t}"]' for t in derived["topics"]}
        | {f'module.push_subscription["{s}"]' for s in derived["push_subscriptions"]}
        | {f'module.pull_subscription["{s}"]' for s in derived["pull_subscriptions"]}
        | {f'google_cloud_scheduler_job.job["{j}"]' for j in derived["scheduler_jobs"]}
        | {f'module.function["{f}"]' for f in derived["functions"]}
        | {f'module.service["{s}"]' for s in derived["services"]}
    )


# ---------------------------------------------------------------- format and syntax


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not on PATH; fmt cannot be checked")
def test_terraform_fmt_leaves_no_diff():
    proc = subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(TF)], check=False,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"terraform fmt would change files:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TF)))
def test_every_tf_file_parses(path: Path):
    assert isinstance(parse(path), dict)


def test_layout_has_the_modules_and_both_environments():
    for module in ("topic", "push_subscription", "pull_subscription", "cloud_function", "cloud_run_service"):
        assert (TF / "modules" / module / "main.tf").is_file(), module
    for env in ("prod", "dev"):
        module = blocks("module", TF / "environments" / env)["tradewinds"]
        assert module["source"] == "../../modules/tradewinds"
        assert module["environment"] == env


# ---------------------------------------------------------------- topology drives everything


def test_stack_reads_the_one_topology_file():
    locs = stack_locals()
    assert locs["topology"] == '${yamldecode(file("${path.module}/../../../infra/topology.yaml"))}'
    assert (STACK / "../../../infra/topology.yaml").resolve() == TOPOLOGY_YAML.resolve()
    assert "local.topology.topics" in locs["topics"]
    for key, section in (("subscriptions", "subscriptions"), ("scheduler_jobs", "scheduler"),
                         ("functions", "functions"), ("services", "services")):
        assert f"local.topology.{section}" in locs[key], key


def test_for_each_expressions_reference_the_topology_locals():
    modules, resources = blocks("module"), blocks("resource")
    assert modules["topic"]["for_each"] == "${local.topics}"
    assert modules["push_subscription"]["for_each"] == "${local.push_subscriptions}"
    assert modules["pull_subscription"]["for_each"] == "${local.pull_subscriptions}"
    assert modules["function"]["for_each"] == "${local.functions}"
    assert modules["service"]["for_each"] == "${local.services}"
    assert resources["google_cloud_scheduler_job.job"]["for_each"] == "${local.scheduler_jobs}"
    assert resources["google_secret_manager_secret.this"]["for_each"] == "${local.secret_ids}"
    assert resources["google_secret_manager_secret_iam_member.access"]["for_each"] == "${local.secret_access}"
    push = modules["push_subscription"]
    # pushed to <function URL>/projects/P/topics/T, as the local stack does: the functions-framework
    # names the topic in the CloudEvent, so a message of the wrong type for it is dead-lettered
    assert push["push_endpoint"] == ("${module.function[each.value.consumer].uri}/projects/${var.project_id}"
                                     "/topics/${module.topic[each.value.topic].name}")
    assert push["audience"] == "${module.function[each.value.consumer].uri}"
    assert push["dead_letter_topic_id"] == "${module.topic[each.value.topic].dead_letter_topic_id}"
    assert push["max_delivery_attempts"] == "${each.value.max_delivery_attempts}"
    assert modules["pull_subscription"]["exactly_once"] == "${each.value.exactly_once}"
    assert modules["function"]["entry_point"] == "${each.value.entry_point}"


def test_no_topic_subscription_or_job_name_is_hard_coded():
    raw = raw_topology()
    names = set(raw["topics"]) | set(raw["subscriptions"]) | set(raw["scheduler"])
    names |= {f"{t}-dlq" for t in raw["topics"]} | {f"{t}-dlq-sub" for t in raw["topics"]}
    for path in TF_FILES:
        # Firestore collection names ("orders", "executions") are not Pub/Sub names.
        text = re.sub(r'collection\s*=\s*"[^"]*"', "", _strip_comments(path.read_text()))
        literals = set(re.findall(r'"([a-z0-9-]+)"', text))
        assert not literals & names, f"{path.relative_to(TF)} hard-codes {sorted(literals & names)}"


def test_python_mirror_agrees_with_the_topology_loader():
    topo, derived = load(TOPOLOGY_YAML), mirror(raw_topology())
    subs = derived["push_subscriptions"] | derived["pull_subscriptions"]
    assert set(subs) == set(topo.subscriptions)
    for name, sub in topo.subscriptions.items():
        got = subs[name]
        assert (got["topic"], got["consumer"], got["delivery"]) == (sub.topic, sub.consumer, sub.delivery)
        assert got["ack_deadline_seconds"] == sub.ack_deadline_seconds, name
        assert got["max_delivery_attempts"] == sub.max_delivery_attempts, name
        assert (got["minimum_backoff"], got["maximum_backoff"]) == (sub.retry.minimum_backoff, sub.retry.maximum_backoff)
        assert (got["ordering"], got["exactly_once"], got["filter"]) == (sub.ordering, sub.exactly_once, sub.filter)
    for name, fn in topo.functions.items():
        got = derived["functions"][name]
        assert (got["entry_point"], got["memory"], got["timeout_seconds"]) == (fn.entry_point, fn.memory, fn.timeout_seconds)
        assert (got["min_instances"], got["max_instances"]) == (fn.min_instances, fn.max_instances)
    assert set(derived["scheduler_jobs"]) == set(topo.scheduler)


def test_every_topology_item_maps_to_a_resource_key():
    raw = raw_topology()
    for backend in ("cloud_run", "vertex"):
        derived = mirror(raw, backend)
        addresses = resource_addresses(derived)
        for topic in raw["topics"]:
            assert f'module.topic["{topic}"]' in addresses
        for name, sub in raw["subscriptions"].items():
            kind = "push_subscription" if sub["delivery"] == "push" else "pull_subscription"
            assert f'module.{kind}["{name}"]' in addresses
            assert f'module.topic["{sub["topic"]}"]' in addresses
            if sub["delivery"] == "push":  # its push endpoint is a function of this stack
                assert f'module.function["{sub["consumer"]}"]' in addresses
        for job in raw["scheduler"].values():
            assert f'module.topic["{job["topic"]}"]' in addresses
        for job in raw["scheduler"]:
            assert f'google_cloud_scheduler_job.job["{job}"]' in addresses
        for fn in raw["functions"]:
            assert f'module.function["{fn}"]' in addresses
        gpu = {n for n, s in raw["services"].items() if s.get("gpu")}
        for svc in raw["services"]:
            present = f'module.service["{svc}"]' in addresses
            assert present == (backend == "cloud_run" or svc not in gpu), (backend, svc)


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not on PATH; locals cannot be evaluated")
@pytest.mark.parametrize("backend", ["cloud_run", "vertex"])
def test_terraform_evaluates_the_locals_like_the_mirror(tmp_path: Path, backend: str):
    """Run the real topology.tf (no provider needed) and compare with the Python mirror."""
    work = tmp_path / "terraform" / "modules" / "tradewinds"
    work.mkdir(parents=True)
    (tmp_path / "infra").mkdir()
    shutil.copy(TOPOLOGY_YAML, tmp_path / "infra" / "topology.yaml")
    shutil.copy(STACK / "topology.tf", work / "topology.tf")
    (work / "probe.tf").write_text(
        f'variable "predictor_backend" {{\n  type    = string\n  default = "{backend}"\n}}\n'
    )
    env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin",
           "TF_CLI_CONFIG_FILE": str(tmp_path / "none.tfrc")}
    init = subprocess.run([TERRAFORM, "init", "-input=false", "-backend=false"], check=False, cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    expr = ("jsonencode({topics = keys(local.topics), push_subscriptions = local.push_subscriptions, "
            "pull_subscriptions = local.pull_subscriptions, scheduler_jobs = local.scheduler_jobs, "
            "functions = local.functions, services = local.services, secret_ids = sort(tolist(local.secret_ids)), "
            "secret_access = {for k, v in local.secret_access : k => {identity = v.identity, secret = v.secret}}})")
    out = subprocess.run([TERRAFORM, "console"], check=False, cwd=work, env=env, input=expr + "\n",
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    evaluated = json.loads(json.loads(out.stdout.strip().splitlines()[-1]))
    expected = mirror(raw_topology(), backend)
    evaluated["topics"] = sorted(evaluated["topics"])
    for key in expected:
        assert evaluated[key] == expected[key], key
    assert resource_addresses(evaluated) == resource_addresses(expected)


# ---------------------------------------------------------------- functions


def _top_level_callables(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def test_every_entry_point_exists_in_functions_main():
    assert MAIN_PY.is_file(), "functions/main.py is missing: it must define the function entry points"
    defined = _top_level_callables(MAIN_PY.read_text())
    entry_points = {f["entry_point"] for f in raw_topology()["functions"].values()}
    assert {"signal", "risk", "notification", "optimizer"} <= set(raw_topology()["functions"])
    assert entry_points <= defined, f"missing in functions/main.py: {sorted(entry_points - defined)}"


def test_functions_are_gen2_python311_from_the_bundle_with_bounded_timeouts():
    fn = blocks("resource", TF / "modules" / "cloud_function")["google_cloudfunctions2_function.this"]
    build = fn["build_config"][0]
    assert build["runtime"] == "python311"
    assert build["entry_point"] == "${var.entry_point}"
    assert build["source"][0]["storage_source"][0]["object"] == "${var.source_object}"
    service = fn["service_config"][0]
    assert service["service_account_email"] == "${var.service_account_email}"
    assert "secret_environment_variables" in str(service)
    assert blocks("resource")["google_storage_bucket_object.function_bundle"]["name"] == "${basename(var.function_bundle)}"
    for spec in raw_topology()["functions"].values():
        assert spec["timeout_seconds"] <= 540


# ---------------------------------------------------------------- IAM


def _walk_values(value: Any):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_values(v)
    else:
        yield str(value)


def test_no_invoker_binding_is_public():
    for path in TF_FILES:
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    invoker = re.match(r"google_(cloud_run_v2_service|cloud_run_service|cloudfunctions2?_function)_iam_", rtype)
                    if invoker or "invoker" in str(body.get("role", "")):
                        values = " ".join(_walk_values(body))
                        assert not any(p in values for p in PUBLIC), f"{path}: {rtype}.{name} is public"
        for entry in parse(path).get("module", []) + parse(path).get("locals", []):
            values = " ".join(_walk_values(entry))
            assert not any(p in values for p in PUBLIC), f"{path}: a module argument or local names a public principal"
    for path in TF.rglob("*.tfvars*"):
        assert not any(p in path.read_text() for p in PUBLIC), path
    for env in ("prod", "dev"):
        assert not any(p in (TF / "environments" / env / "variables.tf").read_text() for p in PUBLIC)


def test_every_module_that_grants_invoker_refuses_public_members():
    for module in ("cloud_function", "cloud_run_service"):
        text = (TF / "modules" / module / "variables.tf").read_text()
        assert re.search(r'!contains\(\["allUsers", "allAuthenticatedUsers"\]', text), module
    assert '!contains(["allUsers", "allAuthenticatedUsers"], m)' in (STACK / "variables.tf").read_text()


def test_service_account_roles_are_in_the_allow_list():
    locs = stack_locals()
    project_roles = {k: set(v) for k, v in locs["project_roles"].items()}
    for identity, roles in locs["vertex_roles"].items():
        project_roles.setdefault(identity, set()).update(roles)
    for identity, roles in project_roles.items():
        assert identity in ALLOWED_PROJECT_ROLES, f"{identity} is not in the allow-list"
        assert roles <= ALLOWED_PROJECT_ROLES[identity], f"{identity}: {sorted(roles - ALLOWED_PROJECT_ROLES[identity])}"
    for identity, role in locs["data_bucket_roles"].items():
        assert {role} <= ALLOWED_BUCKET_ROLES.get(identity, set()), identity
    raw = raw_topology()
    for name in raw["functions"]:
        assert f"fn-{name}" in project_roles, f"function {name} has no role set"
    for name in raw["services"]:
        assert f"run-{name}" in project_roles, f"service {name} has no role set"
    grants = blocks("resource")["google_project_iam_member.this"]
    assert grants["for_each"] == "${local.project_grants}"
    for path in TF_FILES:
        text = path.read_text()
        assert not any(f'"{r}"' in text for r in FORBIDDEN_ROLES), path
        if path.parent != STACK:
            assert "google_project_iam_member" not in text, f"{path}: project roles belong in iam.tf"


def test_dead_lettering_grants_and_oidc_push():
    sub = blocks("resource", TF / "modules" / "push_subscription")
    body = sub["google_pubsub_subscription.this"]
    push = body["push_config"][0]
    assert push["oidc_token"][0]["service_account_email"] == "${var.invoker_service_account_email}"
    assert body["dead_letter_policy"][0]["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    assert body["retry_policy"][0]["minimum_backoff"] == "${var.minimum_backoff}"
    assert sub["google_pubsub_topic_iam_member.dead_letter_publisher"]["role"] == "roles/pubsub.publisher"
    topic_grant = blocks("resource", TF / "modules" / "topic")["google_pubsub_topic_iam_member.dead_letter_publisher"]
    assert topic_grant["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert blocks("module")["topic"]["pubsub_service_agent_email"] == "${google_project_service_identity.pubsub.email}"
    assert sub["google_pubsub_subscription_iam_member.dead_letter_subscriber"]["role"] == "roles/pubsub.subscriber"
    topic = blocks("resource", TF / "modules" / "topic")
    assert topic["google_pubsub_topic.dead_letter"]["name"] == "${var.name}-dlq"
    assert topic["google_pubsub_subscription.dead_letter"]["name"] == "${var.name}-dlq-sub"
    identity = blocks("resource")["google_project_service_identity.pubsub"]
    assert identity["service"] == "pubsub.googleapis.com"


# ---------------------------------------------------------------- providers, services, data


def test_provider_versions_are_pinned():
    for env in ("prod", "dev"):
        terraform = parse(TF / "environments" / env / "versions.tf")["terraform"][0]
        assert terraform["required_version"].startswith(">= 1.11")
        providers = terraform["required_providers"][0]
        for name in ("google", "google-beta"):
            assert providers[name]["source"] == f"hashicorp/{name}"
            assert re.fullmatch(r"(~> )?\d+\.\d+\.\d+", providers[name]["version"]), providers[name]
        assert "gcs" in terraform["backend"][0]


def test_cloud_run_services_are_always_on_with_probes_and_a_gpu_predictor():
    run = blocks("resource", TF / "modules" / "cloud_run_service")["google_cloud_run_v2_service.this"]
    container = run["template"][0]["containers"][0]
    assert container["resources"][0]["cpu_idle"] == "${var.cpu_idle}"
    assert container["startup_probe"][0]["http_get"][0]["path"] == "${var.health_path}"
    assert container["liveness_probe"][0]["http_get"][0]["path"] == "${var.health_path}"
    assert "node_selector" in str(run["template"][0]["dynamic"])
    variables = parse(TF / "modules" / "cloud_run_service" / "variables.tf")["variable"]
    defaults = {k: v.get("default") for entry in variables for k, v in entry.items()}
    assert defaults["health_path"] == "/health"
    service = blocks("module")["service"]
    assert service["cpu_idle"] is False and service["startup_cpu_boost"] is True
    services = raw_topology()["services"]
    for name in ("feed", "executor"):
        assert services[name]["min_instances"] >= 1
    gpu = [s for s in services.values() if s.get("gpu")]
    assert gpu and all(s["gpu"] == "nvidia-l4" and float(s["cpu"]) >= 4 and s["memory"].endswith("Gi")
                       and float(s["memory"][:-2]) >= 16 for s in gpu)
    stack_vars = (STACK / "variables.tf").read_text()
    regions = set(re.findall(r'"([a-z]+-[a-z]+\d)"', stack_vars.split('variable "predictor_region"')[1].split("\n}\n")[0]))
    assert GPU_REGIONS <= regions
    assert 'contains(["cloud_run", "vertex"], var.predictor_backend)' in stack_vars
    assert blocks("resource")["google_vertex_ai_endpoint.predictor"]["count"] == '${var.predictor_backend == "vertex" ? 1 : 0}'


def test_firestore_pitr_delete_protection_ttl_and_indexes():
    res = blocks("resource")
    db = res["google_firestore_database.default"]
    assert db["name"] == "(default)" and db["type"] == "FIRESTORE_NATIVE"
    assert db["point_in_time_recovery_enablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert "DELETE_PROTECTION_ENABLED" in db["delete_protection_state"]
    ttl = res["google_firestore_field.ttl"]
    assert "processed" in ttl["for_each"] and "outbox" in ttl["for_each"]
    assert ttl["field"] == "expires_at" and "ttl_config" in ttl
    indexes = stack_locals()["firestore_indexes"]
    wanted = {("executions", "strategy", "executed_at"), ("audit", "kind", "at"),
              ("optimizer_jobs", "strategy", "created_at"), ("orders", "status", "updated_at"),
              ("near_misses", "reason", "at")}  # the rebalancer's evidence query
    got = {(i["collection"], i["fields"][0][0], i["fields"][1][0]) for i in indexes.values()}
    assert wanted <= got


def test_secrets_come_from_topology_with_write_only_versions():
    assert set(mirror(raw_topology())["secret_ids"]) == {
        "exchange-keys", "telegram-bot-token", "telegram-webhook-secret", "slack-webhook-url", "admin-token",
        "read-token"}
    version = blocks("resource")["google_secret_manager_secret_version.seed"]
    assert "secret_data_wo" in version and "secret_data_wo_version" in version and "secret_data" not in version


def test_deploy_plan_cli_prints_the_plan_without_an_account():
    result = CliRunner().invoke(deploy_app, ["plan", "--env", "dev", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    raw = raw_topology()
    assert {t["name"] for t in plan["topics"]} == set(raw["topics"])
    assert {s["name"] for s in plan["subscriptions"]} == set(raw["subscriptions"])
    assert {j["name"] for j in plan["scheduler_jobs"]} == set(raw["scheduler"])
    assert {f["entry_point"] for f in plan["functions"]} == {f["entry_point"] for f in raw["functions"].values()}
    assert plan["settings"]["protect_data"] is False
    assert re.fullmatch(r"function-source-[0-9a-f]{16}\.zip", plan["bundle"]["name"])
    tables = CliRunner().invoke(deploy_app, ["plan", "--env", "prod"])
    assert tables.exit_code == 0, tables.output
    for title in ("Topics", "Subscriptions", "Cloud Scheduler jobs", "Cloud Functions", "Cloud Run services",
                  "Secrets", "Function source bundle"):
        assert title in tables.output


def test_cloudbuild_runs_test_images_bundle_terraform_and_smoke_in_order():
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text())
    steps = {s["id"]: s for s in build["steps"]}
    assert "make test" in " ".join(steps["test"]["args"])
    for svc in ("feed", "executor", "predictor"):
        assert f"runtime/{svc}/Dockerfile" in steps[f"image-{svc}"]["args"]
    assert "infra.bundle" in " ".join(steps["bundle"]["args"])
    for step, verb in (("tf-init", "init"), ("tf-validate", "validate"), ("tf-plan", "plan"), ("tf-apply", "apply")):
        script = " ".join(steps[step]["args"])
        assert f"terraform -chdir=terraform/environments/${{_ENV}} {verb}" in script, step
    assert "tf-apply" in steps["smoke"]["waitFor"] and "/health" in " ".join(steps["smoke"]["args"])
    assert set(build["substitutions"]) >= {"_ENV", "_TF_STATE_BUCKET", "_INVOKERS"}
    # Shell variables must be escaped ($$x); a bare $x is a Cloud Build substitution.
    for step in build["steps"]:
        for arg in step.get("args", []):
            bare = re.findall(r"(?<!\$)\$(?!\$)(?!\{(?:_[A-Z_]+|PROJECT_ID)\})[a-z0-9({]", arg)
            assert not bare, f"{step['id']}: unescaped shell variable in {arg[:80]!r}"


def test_data_bucket_access_is_logged_and_vertex_can_be_private():
    res = blocks("resource")
    for bucket, prefix in (("data", "data/"), ("sources", "fn-src/")):
        logging = res[f"google_storage_bucket.{bucket}"]["logging"][0]
        assert logging == {"log_bucket": "${google_storage_bucket.access_logs.name}", "log_object_prefix": prefix}
    logs = res["google_storage_bucket.access_logs"]
    assert logs["public_access_prevention"] == "enforced" and logs["uniform_bucket_level_access"] is True
    assert logs["lifecycle_rule"][0]["condition"][0]["age"] == "${var.access_log_retention_days}"
    writer = res["google_storage_bucket_iam_member.access_log_writer"]
    assert (writer["bucket"], writer["role"], writer["member"]) == (
        "${google_storage_bucket.access_logs.name}", "roles/storage.objectCreator",
        "group:cloud-storage-analytics@google.com")
    assert res["google_vertex_ai_endpoint.predictor"]["network"] == "${var.vertex_private_network}"
    variables = {k: v for e in parse(STACK / "variables.tf")["variable"] for k, v in e.items()}
    assert variables["vertex_private_network"]["default"] is None
    assert "customer-managed" in (STACK / "variables.tf").read_text().lower()
    assert "### Customer-managed keys" in (REPO / "docs" / "deploy.md").read_text()
