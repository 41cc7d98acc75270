"""Learning analytics: the xAPI LRS, the event store and learning metrics."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="analytics",
        folder=Path(__file__).parent,
        models=("eduops.analytics.models",),
        checks=("eduops.analytics.checks",),
        commands=(Command("analytics", "Learning analytics: active learners, completion, retention, funnels, imports.",
                          "eduops.analytics.cli:app"),),
        web=("eduops.analytics.api",),
        demo="eduops.analytics.demo:populate",
        demo_order=60,
        upgrade="eduops.analytics.store_upgrade:upgrade",
        areas=(Area("learning", "Learning data", 70, page="/analytics"),),
    )
