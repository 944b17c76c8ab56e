"""terraform/modules/tradewinds/monitoring.tf and dashboards/tradewinds.json, offline.

Every alert condition, every dashboard chart and every uptime check must name something
that really exists: a Prometheus family a service exposes (runtime/common/metrics.py
`METRICS`, with its kind), a log-based metric defined here whose message the code really
prints, or one of the few built-in Google Cloud metrics listed in `BUILT_IN`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import yaml

from runtime.common.metrics import METRICS

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "terraform" / "modules" / "tradewinds"
MONITORING = STACK / "monitoring.tf"
DASHBOARD = STACK / "dashboards" / "tradewinds.json"
BUILT_IN = {"run.googleapis.com/request_count", "monitoring.googleapis.com/uptime_check/check_passed"}
# where the functions and the executor print the lines the log-based metrics count
LOG_SOURCES = [REPO / "functions" / "entry.py", REPO / "shared" / "delivery.py",
               REPO / "shared" / "adapters" / "gcp" / "pubsub_bus.py"]
PROM = re.compile(r"prometheus\.googleapis\.com/([a-z0-9_]+)/(gauge|counter|histogram)")
USER = re.compile(r"logging\.googleapis\.com/user/([a-z0-9_]+)")
TYPE = re.compile(r'metric\.type\s*=\s*"([^"]+)"')


def _clean(value: Any) -> Any:
    """python-hcl2 keeps HCL quoting ('"x"', '\\"') and adds __is_block__; strip them."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return value.replace('\\"', '"')
    return value


@cache
def tf(path: Path = MONITORING) -> dict[str, Any]:
    with path.open() as handle:
        return _clean(hcl2.load(handle))


def locals_() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in tf().get("locals", []):
        merged.update(entry)
    return merged


def resources(kind: str) -> dict[str, dict]:
    return {name: body for entry in tf()["resource"] for k, named in entry.items() if k == kind
            for name, body in named.items()}


def resolve(text: str) -> str:
    """`${local.prometheus}` and the like replaced by the local's text."""
    loc = locals_()
    return re.sub(r"\$\{local\.(\w+)\}", lambda m: loc[m.group(1)] if isinstance(loc[m.group(1)], str)
                  else m.group(0), text)


def named_metrics(text: str) -> list[str]:
    """Every metric type a Cloud Monitoring filter names, each checked to exist."""
    found = TYPE.findall(resolve(text))
    assert found, f"no metric.type in {text!r}"
    log_metrics = locals_()["log_metrics"]
    for metric in found:
        if (m := PROM.fullmatch(metric)) is not None:
            name, kind = m.groups()
            assert name in METRICS, f"{metric}: no service exposes {name}"
            assert METRICS[name][0] == kind, f"{metric}: {name} is a {METRICS[name][0]}"
        elif (u := USER.fullmatch(metric)) is not None:
            assert u.group(1) in log_metrics, f"{metric}: no such log-based metric"
        else:
            assert metric in BUILT_IN, f"{metric}: neither ours nor an allowed built-in metric"
    return found


def conditions() -> dict[str, dict]:
    """{policy[i]: condition_threshold}; the `threshold` policy once per threshold_alerts entry."""
    out = {}
    for name, policy in resources("google_monitoring_alert_policy").items():
        for i, cond in enumerate(policy["conditions"]):
            body = cond["condition_threshold"][0]
            if body["filter"] == "${each.value.metric}":
                assert policy["for_each"] == "${local.threshold_alerts}"
                for key, alert in locals_()["threshold_alerts"].items():
                    out[f"{name}[{key}]"] = {**body, "filter": alert["metric"]}
            else:
                out[f"{name}[{i}]"] = body
    return out


# -- alert policies ------------------------------------------------------------------------
def test_every_alert_condition_names_a_metric_the_system_emits():
    found = conditions()
    assert sorted(found) == ["down[0]", "function_errors[0]", "function_errors[1]", "hot_path_p99[0]",
                             "threshold[dlq]", "threshold[feed_stale]", "threshold[halted]",
                             "threshold[order_latency]"]
    for cond in found.values():
        named_metrics(cond["filter"])
        if "denominator_filter" in cond:
            named_metrics(cond["denominator_filter"])


def test_the_required_alerts_with_their_thresholds():
    alerts = {resolve(a["metric"]).split("prometheus.googleapis.com/")[1].split("/")[0]: a
              for a in locals_()["threshold_alerts"].values()}
    assert alerts["tradewinds_halted"]["threshold"] == 0  # halted: 1 > 0
    assert alerts["tradewinds_dlq_depth"]["threshold"] == 0  # DLQ depth > 0
    assert alerts["tradewinds_feed_update_age_seconds"]["threshold"] == 60  # staleness > 60 s
    assert alerts["tradewinds_feed_update_age_seconds"]["group_by"] == ["metric.label.venue"]
    assert alerts["tradewinds_order_latency_avg_ms"]["threshold"] == 500  # average latency > 500 ms
    threshold = resources("google_monitoring_alert_policy")["threshold"]
    assert threshold["for_each"] == "${local.threshold_alerts}"
    assert threshold["conditions"][0]["condition_threshold"][0]["comparison"] == "COMPARISON_GT"

    p99 = resources("google_monitoring_alert_policy")["hot_path_p99"]["conditions"][0]["condition_threshold"][0]
    assert "tradewinds_hot_path_decision_seconds/histogram" in resolve(p99["filter"])
    assert p99["threshold_value"] == 0.001 and p99["comparison"] == "COMPARISON_GT"  # p99 > 1 ms
    assert p99["aggregations"][0]["cross_series_reducer"] == "REDUCE_PERCENTILE_99"

    errors = resources("google_monitoring_alert_policy")["function_errors"]["conditions"]
    types = [named_metrics(c["condition_threshold"][0]["filter"]) for c in errors]
    assert ["run.googleapis.com/request_count"] in types
    assert ["logging.googleapis.com/user/tradewinds_function_errors"] in types

    down = resources("google_monitoring_alert_policy")["down"]
    assert down["for_each"] == "${local.uptime_services}"
    cond = down["conditions"][0]["condition_threshold"][0]
    assert "google_monitoring_uptime_check_config.health[each.key].uptime_check_id" in cond["filter"]
    assert cond["aggregations"][0]["cross_series_reducer"] == "REDUCE_COUNT_FALSE"


def test_every_policy_notifies_the_channels_and_telegram_is_not_pretended():
    for name, policy in resources("google_monitoring_alert_policy").items():
        assert policy["notification_channels"] == "${local.notification_channels}", name
        assert policy["documentation"][0]["content"], name
    channels = resources("google_monitoring_notification_channel")
    assert channels["email"]["type"] == "email" and channels["email"]["count"].startswith("${var.alert_email")
    assert channels["slack"]["type"] == "slack"
    assert channels["slack"]["sensitive_labels"][0]["auth_token"] == "${var.alert_slack_token}"
    assert not any(c["type"] == "telegram" for c in channels.values())  # no such channel type
    for path in (REPO / "terraform" / "environments").glob("*/main.tf"):
        text = path.read_text()
        for var in ("alert_email", "alert_slack_channel", "alert_slack_token", "alert_notification_channels",
                    "predictor_uptime_check"):
            assert f"{var} = var.{var}" in re.sub(r"\s+", " ", text), (path, var)
            assert f'variable "{var}"' in (path.parent / "variables.tf").read_text(), (path, var)


# -- log-based metrics ------------------------------------------------------------------------
def test_each_log_based_metric_counts_a_line_the_code_prints():
    log_metrics = locals_()["log_metrics"]
    assert set(log_metrics) >= {"tradewinds_function_errors", "tradewinds_function_dead_letters",
                                "tradewinds_duplicate_deliveries"}
    sources = {path: path.read_text() for path in LOG_SOURCES}
    functions = sorted(yaml.safe_load((REPO / "infra" / "topology.yaml").read_text())["functions"])
    assert locals_()["function_names"] == "${sort(keys(local.functions))}"
    for name, spec in log_metrics.items():
        text = resolve(spec["filter"])
        message = re.search(r'jsonPayload\.message=~?"\^?([^"]+)"', text)
        if message is None:
            assert "severity>=ERROR" in text, name
            continue
        printing = [path for path, src in sources.items() if f'"{message.group(1)}' in src]
        assert printing, f"{name}: nobody prints {message.group(1)!r}"
        for field in re.findall(r"jsonPayload\.(\w+)\)", " ".join(spec["labels"].values())):
            assert any(f'"{field}":' in sources[p] for p in printing), f"{name}: {field} is not logged"
    assert functions, "the topology lists the functions whose logs are counted"
    metric = resources("google_logging_metric")["this"]
    assert metric["for_each"] == "${local.log_metrics}"
    assert metric["label_extractors"] == "${each.value.labels}"


# -- uptime checks ------------------------------------------------------------------------------
def test_uptime_checks_hit_health_with_an_id_token_and_the_agent_may_invoke():
    check = resources("google_monitoring_uptime_check_config")["health"]
    assert check["for_each"] == "${local.uptime_services}"
    http = check["http_check"][0]
    assert http["path"] == "/health" and http["use_ssl"] is True and http["port"] == 443
    assert http["service_agent_authentication"][0]["type"] == "OIDC_TOKEN"
    assert check["monitored_resource"][0]["type"] == "uptime_url"
    assert "module.service[each.key].uri" in check["monitored_resource"][0]["labels"]["host"]
    grant = resources("google_cloud_run_v2_service_iam_member")["uptime"]
    assert grant["role"] == "roles/run.invoker" and grant["for_each"] == "${local.uptime_services}"
    assert "@gcp-sa-monitoring-notification.iam.gserviceaccount.com" in grant["member"]
    services = set(yaml.safe_load((REPO / "infra" / "topology.yaml").read_text())["services"])
    assert services == {"feed", "executor", "predictor"}
    assert "for name, svc in local.services" in MONITORING.read_text()  # every service, predictor optional
    for app in ("feed", "executor"):
        assert '.get("/health"' in (REPO / "runtime" / app / "app.py").read_text(), app
    assert '"/health"' in (REPO / "runtime" / "predictor" / "app.py").read_text()


# -- the dashboard ------------------------------------------------------------------------------
def _filters(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "filter" and isinstance(v, str)] + \
            [f for v in node.values() for f in _filters(v)]
    if isinstance(node, list):
        return [f for v in node for f in _filters(v)]
    return []


def test_the_dashboard_parses_and_every_chart_names_an_emitted_metric():
    dash = resources("google_monitoring_dashboard")["tradewinds"]
    assert "dashboards/tradewinds.json" in dash["dashboard_json"] and "templatefile" in dash["dashboard_json"]
    text = DASHBOARD.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == {"environment"}  # the only template variable
    doc = json.loads(text.replace("${environment}", "prod"))
    tiles = doc["mosaicLayout"]["tiles"]
    assert tiles and all(t["xPos"] + t["width"] <= doc["mosaicLayout"]["columns"] for t in tiles)
    charted: set[str] = set()
    for tile in tiles:
        filters = _filters(tile["widget"])
        assert filters, tile["widget"]["title"]
        for f in filters:
            charted.update(named_metrics(f))
    names = {PROM.fullmatch(m).group(1) for m in charted if PROM.fullmatch(m)}
    # what the issue asks to see: orders and fills, fees, NAV, PnL, halt, breakers, rejects,
    # hot-path and order latency, book age, redeliveries and DLQ depth, predictor latency
    for wanted in ("tradewinds_orders_total", "tradewinds_fills_total", "tradewinds_fees_usd_total",
                   "tradewinds_nav_usd", "tradewinds_pnl_total_usd", "tradewinds_pnl_today_usd",
                   "tradewinds_halted", "tradewinds_breaker_state", "tradewinds_reject_ratio",
                   "tradewinds_hot_path_decision_seconds", "tradewinds_order_latency_seconds",
                   "tradewinds_book_age_seconds", "tradewinds_feed_update_age_seconds",
                   "tradewinds_bus_redeliveries_total", "tradewinds_dlq_depth",
                   "tradewinds_predictor_latency_seconds"):
        assert wanted in names, wanted
    assert {m for m in charted if USER.fullmatch(m)} >= {
        "logging.googleapis.com/user/tradewinds_function_errors",
        "logging.googleapis.com/user/tradewinds_function_dead_letters"}
