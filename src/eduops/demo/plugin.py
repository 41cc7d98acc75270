"""The synthetic platform behind `eduops demo`."""

from pathlib import Path

from eduops.core.hookspecs import Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="demo",
        folder=Path(__file__).parent,
        commands=(Command("demo", "Build a demo workspace with a month of realistic data and serve the console.",
                          "eduops.demo.cli:demo_command"),),
    )
