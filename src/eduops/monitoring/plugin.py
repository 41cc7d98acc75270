"""Monitoring: collectors for hosts, endpoints, certificates, databases, logs and exporters."""

from pathlib import Path

from eduops.core.hookspecs import Area, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="monitoring",
        folder=Path(__file__).parent,
        checks=("eduops.monitoring.checks",),
        web=("eduops.monitoring.api",),
        background="eduops.monitoring.service:start_background",
        demo="eduops.monitoring.demo:populate",
        demo_order=30,
        areas=(Area("performance", "Performance", 10, page="/monitoring"),),
    )
