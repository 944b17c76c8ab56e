"""`tradewinds deploy plan --env prod|dev`: what Terraform would create, without a GCP account.

Everything shown is read from the same sources Terraform reads: infra/topology.yaml (topics,
subscriptions, scheduler jobs, functions, services, secrets), the environment root under
terraform/environments/<env>/ (settings), and the function bundle built by infra/bundle.py.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from infra.bundle import REPO_ROOT, build_bundle
from infra.topology import Topology, load

app = typer.Typer(help="Deployment: dry-run plan of what Terraform creates.", no_args_is_help=True)
ENVIRONMENTS = ("prod", "dev")
_ASSIGN = re.compile(r'^\s*([a-z_]+)\s*=\s*("(?:[^"\\]|\\.)*"|true|false|-?\d+|var\.[a-z_]+)\s*$')
_VARIABLE = re.compile(r'variable\s+"([a-z_]+)"\s*\{(.*?)\n\}', re.DOTALL)


@app.callback()
def deploy() -> None:
    """Deployment: dry-run plan of what Terraform creates."""


def _literal(raw: str) -> Any:
    if raw.startswith('"'):
        return json.loads(raw)
    if raw in ("true", "false"):
        return raw == "true"
    return int(raw) if re.fullmatch(r"-?\d+", raw) else raw


def env_settings(env: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """Module arguments of terraform/environments/<env>/main.tf, var.* resolved to defaults."""
    env_dir = root / "terraform" / "environments" / env
    defaults: dict[str, Any] = {}
    for name, body in _VARIABLE.findall((env_dir / "variables.tf").read_text()):
        for line in body.splitlines():
            match = _ASSIGN.match(line)
            if match and match.group(1) == "default":
                defaults[name] = _literal(match.group(2))
    settings: dict[str, Any] = {}
    for line in (env_dir / "main.tf").read_text().splitlines():
        match = _ASSIGN.match(line)
        if not match or match.group(1) == "source":
            continue
        raw = match.group(2)
        settings[match.group(1)] = defaults.get(raw[4:], f"<{raw}>") if raw.startswith("var.") else _literal(raw)
    return settings


def secret_env(secret: str) -> str:
    return secret.upper().replace("-", "_")


def plan_data(topology: Topology, env: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The resources Terraform derives from the topology, in plain data."""
    vertex = settings.get("predictor_backend") == "vertex"
    services = {n: s for n, s in topology.services.items() if not (s.gpu and vertex)}
    accessors: dict[str, list[str]] = {}
    for name, fn in topology.functions.items():
        for secret in fn.secrets:
            accessors.setdefault(secret, []).append(f"tw-fn-{name}")
    for name, svc in services.items():
        for secret in svc.secrets:
            accessors.setdefault(secret, []).append(f"tw-run-{name}")
    return {
        "environment": env,
        "settings": settings,
        "topics": [
            {"name": t.name, "dead_letter_topic": t.dead_letter_topic,
             "dead_letter_subscription": t.dead_letter_subscription, "publisher": t.publisher,
             "subscribers": [s.consumer for s in topology.subscriptions_on(t.name)]}
            for t in topology.topics.values()
        ],
        "subscriptions": [
            {"name": s.name, "topic": s.topic, "consumer": s.consumer, "delivery": s.delivery,
             "endpoint": f"function {s.consumer} URL (OIDC tw-push-{s.consumer})" if s.delivery == "push"
             else ("tw-run-" + s.consumer if s.consumer in services else "operators"),
             "ack_deadline_seconds": s.ack_deadline_seconds, "max_delivery_attempts": s.max_delivery_attempts,
             "minimum_backoff": s.retry.minimum_backoff, "maximum_backoff": s.retry.maximum_backoff,
             "ordering": s.ordering, "exactly_once": s.exactly_once, "filter": s.filter,
             "dead_letter_topic": f"{s.topic}-dlq"}
            for s in topology.subscriptions.values()
        ],
        "scheduler_jobs": [
            {"name": j.name, "cron": j.cron, "time_zone": j.time_zone, "topic": j.topic, "type": j.type,
             "payload": json.dumps(j.payload, sort_keys=True, separators=(",", ":"))}
            for j in topology.scheduler.values()
        ],
        "functions": [
            {"name": f.name, "entry_point": f.entry_point, "runtime": "python311", "memory": f.memory,
             "timeout_seconds": f.timeout_seconds, "min_instances": f.min_instances,
             "max_instances": f.max_instances, "service_account": f"tw-fn-{f.name}",
             "secrets": {secret_env(s): s for s in f.secrets}}
            for f in topology.functions.values()
        ],
        "services": [
            {"name": s.name, "cpu": s.cpu, "memory": s.memory, "gpu": s.gpu,
             "region": settings.get("predictor_region") if s.gpu else settings.get("region"),
             "min_instances": s.min_instances, "max_instances": s.max_instances,
             "cpu_always_allocated": True, "startup_cpu_boost": True, "probes": "/health",
             "gpu_zonal_redundancy_disabled": settings.get("gpu_zonal_redundancy_disabled") if s.gpu else None,
             "service_account": f"tw-run-{s.name}", "secrets": {secret_env(x): x for x in s.secrets}}
            for s in services.values()
        ],
        "vertex_endpoint": vertex,
        "secrets": {secret: sorted(names) for secret, names in sorted(accessors.items())},
    }


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def render(data: dict[str, Any], bundle: dict[str, Any], console: Console) -> None:
    s = data["settings"]
    console.print(f"[bold]tradewinds deploy plan[/bold] — env [cyan]{data['environment']}[/cyan], "
                  f"region {s.get('region')}, predictor {s.get('predictor_backend')} in {s.get('predictor_region')}, "
                  f"trading {s.get('trading_mode')}, protect_data {s.get('protect_data')}")
    console.print(_table("Topics (+ dead-letter topic and its pull subscription)",
                         ["topic", "dead-letter topic", "DLQ subscription", "publisher", "subscribers"],
                         [[t["name"], t["dead_letter_topic"], t["dead_letter_subscription"], t["publisher"],
                           ", ".join(t["subscribers"])] for t in data["topics"]]))
    console.print(_table("Subscriptions", ["subscription", "topic", "delivery", "to", "ack s", "retry",
                                           "max attempts", "options"],
                         [[x["name"], x["topic"], x["delivery"], x["endpoint"], x["ack_deadline_seconds"],
                           f"{x['minimum_backoff']}..{x['maximum_backoff']}", x["max_delivery_attempts"],
                           ", ".join([k for k in ("ordering", "exactly_once") if x[k]]
                                     + ([f"filter {x['filter']}"] if x["filter"] else []))]
                          for x in data["subscriptions"]]))
    console.print(_table("Cloud Scheduler jobs", ["job", "cron", "tz", "topic", "type", "payload"],
                         [[j["name"], j["cron"], j["time_zone"], j["topic"], j["type"], j["payload"]]
                          for j in data["scheduler_jobs"]]))
    console.print(_table(f"Cloud Functions (2nd gen, one bundle {bundle['name']})",
                         ["function", "entry point", "memory", "timeout", "instances", "service account",
                          "secrets"],
                         [[f["name"], f["entry_point"], f["memory"], f"{f['timeout_seconds']}s",
                           f"{f['min_instances']}..{f['max_instances']}", f["service_account"],
                           ", ".join(f"{k}<-{v}" for k, v in f["secrets"].items())] for f in data["functions"]]))
    console.print(_table("Cloud Run services (CPU always allocated, startup boost, probes on /health)",
                         ["service", "region", "cpu/mem", "gpu", "instances", "service account", "secrets"],
                         [[v["name"], v["region"], f"{v['cpu']}/{v['memory']}",
                           (f"{v['gpu']} (zonal redundancy {'off' if v['gpu_zonal_redundancy_disabled'] else 'on'})"
                            if v["gpu"] else "-"),
                           f"{v['min_instances']}..{v['max_instances']}", v["service_account"],
                           ", ".join(f"{k}<-{x}" for k, x in v["secrets"].items())] for v in data["services"]]
                         + ([["predictor (Vertex AI endpoint)", s.get("predictor_region"), "-", "-", "-",
                              "tw-fn-signal calls it", "-"]] if data["vertex_endpoint"] else [])))
    console.print(_table("Secrets (secretAccessor per identity)", ["secret", "accessors"],
                         [[k, ", ".join(v)] for k, v in data["secrets"].items()]))
    console.print(_table("Function source bundle", ["object", "size", "files", "left out (TensorFlow)"],
                         [[bundle["name"], f"{bundle['size']:,} bytes", bundle["files"],
                           ", ".join(bundle["excluded"]) or "-"]]))


@app.command()
def plan(
    env: str = typer.Option("prod", "--env", help="prod or dev (terraform/environments/<env>)."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON instead of tables."),
) -> None:
    """Show what `terraform apply` would create for an environment; needs no GCP account."""
    if env not in ENVIRONMENTS:
        raise typer.BadParameter(f"--env must be one of {ENVIRONMENTS}", param_hint="--env")
    data = plan_data(load(), env, env_settings(env))
    with tempfile.TemporaryDirectory() as tmp:
        built = build_bundle(Path(tmp))
    bundle = {"name": built.name, "size": built.size, "files": len(built.files), "excluded": list(built.excluded)}
    if as_json:
        typer.echo(json.dumps({**data, "bundle": bundle}, indent=2, sort_keys=True))
        return
    render(data, bundle, Console())
