"""The synthetic platform behind `eduops demo`."""

from pathlib import Path

from eduops.core.hookspecs import Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="demo",
        folder=Path(__file__).parent,
    )
