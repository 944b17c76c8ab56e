"""The Cloud Functions entry points: one source bundle, one entry point per step.

Each is fed by our own Pub/Sub push subscription (retry and dead-letter policies from
`infra/topology.yaml`); the functions-framework turns the raw push body into a CloudEvent.
Importing this module loads only the functions-framework and our contracts: the
composition root (cloud clients, handlers, models) is built on the first event.
"""

import os

import functions_framework

from functions.entry import handle_event
from shared import logs

# Cloud Logging JSON on stdout, and third-party HTTP loggers held at WARNING so no URL with a
# secret in it (a Slack webhook, a bot token) is ever logged (stdlib only: no cold-start cost)
logs.configure(level=os.environ.get("LOG_LEVEL", "INFO"))


@functions_framework.cloud_event
def signal(event) -> None:
    handle_event("signal", event)


@functions_framework.cloud_event
def risk(event) -> None:
    handle_event("risk", event)


@functions_framework.cloud_event
def notification(event) -> None:
    handle_event("notification", event)


@functions_framework.cloud_event
def optimizer(event) -> None:
    handle_event("optimizer", event)
