"""Incidents: one timeline joining alerts, complaints, call quality, releases and learning; reviews."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="incidents",
        folder=Path(__file__).parent,
        models=("eduops.incidents.models",),
        checks=("eduops.incidents.checks",),
        commands=(Command("incidents", "Incidents: the joined timeline, working it, the review (复盘).",
                          "eduops.incidents.cli:app"),),
        web=("eduops.incidents.api",),
        background="eduops.incidents.background:start_background",
        demo="eduops.incidents.demo:populate",
        demo_order=95,
        areas=(Area("incidents", "Incidents", 5, page="/incidents", headline="eduops.incidents.overview:headline"),),
    )
