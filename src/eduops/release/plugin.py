"""Releases and their regression journeys."""

from pathlib import Path

from eduops.core.hookspecs import Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="release",
        folder=Path(__file__).parent,
        models=("eduops.release.models",),
        checks=("eduops.release.checks",),
        commands=(Command("release", "Releases and their regression checks before and after a deploy.",
                          "eduops.release.cli:app"),),
        web=("eduops.release.api",),
        demo="eduops.release.demo:populate",
        demo_order=70,
    )
