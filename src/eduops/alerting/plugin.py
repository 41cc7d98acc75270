"""Alerting: metric store, PromQL, rules, alert states, dispatch and notification."""

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from eduops.core.hookspecs import Area, Command, Domain, EncryptedColumn, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="alerting",
        folder=Path(__file__).parent,
        models=("eduops.alerting.models",),
        commands=(
            Command("metrics", "The metric store.", "eduops.alerting.cli:metrics_app"),
            Command("rules", "Alert rules: test, export, push, list.", "eduops.alerting.cli:rules_app"),
            Command("alerts", "Alerts, silences, channels and expected surges.", "eduops.alerting.cli:alerts_app"),
        ),
        web=("eduops.alerting.api",),
        background="eduops.alerting.pipeline:start_background",
        areas=(Area("alerts", "Alerts", 0, page="/alerts", headline="eduops.alerting.presentation:headline"),),
        # channel URLs are bound to the channel's name (eduops.alerting.notify)
        encrypted_columns=(EncryptedColumn("notify_channels", "url_encrypted", lambda row: f"channel:{row['name']}"),),
    )


@hookimpl
def eduops_record_measurements(session: Any, measurements: Iterable[Any], ts: datetime) -> int:
    from eduops.alerting.metrics import record

    return record(session, measurements, ts)
