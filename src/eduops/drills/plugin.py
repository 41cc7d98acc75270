"""Emergency drills: fault injection, time to detect and to recover."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="drills",
        folder=Path(__file__).parent,
        checks=("eduops.drills.checks",),
        commands=(Command("drill", "Emergency drills: inject a fault, time detection and recovery.",
                          "eduops.drills.cli:drill_app"),),
        web=("eduops.drills.api",),
        demo="eduops.drills.demo:populate",
        demo_order=78,
        areas=(Area("drills", "Drills", 80, page="/drills"),),
    )
