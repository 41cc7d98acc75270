"""Feedback: intake, triage, clustering, SLA and work items."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="feedback",
        folder=Path(__file__).parent,
        models=("eduops.feedback.models",),
        checks=("eduops.feedback.checks",),
        commands=(Command("feedback", "User feedback: intake, clusters, the support queue and work items.",
                          "eduops.feedback.cli:app"),),
        web=("eduops.feedback.api",),
        demo="eduops.feedback.demo:populate",
        demo_order=65,
        areas=(Area("feedback", "Feedback", 60, page="/feedback/clusters"),),
    )
