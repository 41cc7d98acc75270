"""Security: scanners (dependencies, TLS, headers, ports, patches) and data protection."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="security",
        folder=Path(__file__).parent,
        models=("eduops.security.models",),
        checks=("eduops.security.checks",),
        commands=(Command("security", "Security scan, dependency check and data protection.",
                          "eduops.security.cli:security_app"),),
        web=("eduops.security.api",),
        demo="eduops.security.demo:populate",
        demo_order=80,
        areas=(Area("security", "Security", 30, page="/security", headline="eduops.security.headline:headline"),),
    )
