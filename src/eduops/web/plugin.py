"""The console: sessions, API keys, the audit log's pages, users; `eduops serve`."""

from pathlib import Path

from eduops.core.hookspecs import Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="web",
        folder=Path(__file__).parent,
        models=("eduops.web.models",),
        commands=(
            Command("serve", "Serve the console and API, and run the maintenance scheduler.",
                    "eduops.web.cli:serve_command"),
            Command("demo", "Build a demo workspace with a month of realistic data and serve the console.",
                    "eduops.web.cli:demo_command"),
            Command("users", "Console users and their roles.", "eduops.web.cli:users_app"),
            Command("keys", "API keys for machine clients (and the secret key ring).", "eduops.web.cli:keys_app"),
            Command("audit", "The tamper-evident audit log.", "eduops.web.cli:audit_app"),
            Command("service", "Run eduops as a systemd service.", "eduops.web.cli:service_app"),
        ),
        web=("eduops.web.api",),
        demo="eduops.web.demo:populate",
        demo_order=5,
    )
