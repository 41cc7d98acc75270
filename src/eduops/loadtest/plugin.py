"""Load tests: Locust scenarios and load shapes, capacity reports."""

from pathlib import Path

from eduops.core.hookspecs import Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="loadtest",
        folder=Path(__file__).parent,
        checks=("eduops.loadtest.checks",),
        commands=(Command("loadtest", "Load tests with Locust: scenarios, SLOs and the capacity knee.",
                          "eduops.loadtest.cli:loadtest_app"),),
        web=("eduops.loadtest.api",),
        demo="eduops.loadtest.demo:populate",
        demo_order=75,
    )
