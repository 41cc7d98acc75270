"""Content: courses, assets, syllabus versions, question banks and licences."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="content",
        folder=Path(__file__).parent,
        models=("eduops.content.models",),
        checks=("eduops.content.checks",),
        commands=(Command("content", "Courses, assets, syllabus versions, question banks and licences.",
                          "eduops.content.cli:app"),),
        web=("eduops.content.api",),
        demo="eduops.content.demo:populate",
        demo_order=55,
        areas=(Area("content", "Content", 50, page="/content/audit"),),
    )
