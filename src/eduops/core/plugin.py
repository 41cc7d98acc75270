"""The kernel's own share: calendar, runs and reports (tables, the overdue check, commands, routes, demo)."""

from pathlib import Path

from eduops.core.hookspecs import Command, Domain, EncryptedColumn, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="core",
        folder=Path(__file__).parent,
        models=("eduops.core.models",),
        checks=("eduops.core.overdue",),
        commands=(
            Command("init", "Create a workspace: eduops.toml, a secret key, the database, the first admin.",
                    "eduops.core.cli:init_command"),
            Command("run", "Run a calendar task now and show its result.", "eduops.core.cli:run_command"),
            Command("report", "Render a run's report.", "eduops.core.cli:report_command"),
            Command("calendar", "The maintenance calendar.", "eduops.core.cli:calendar_app"),
            Command("runs", "Runs of calendar tasks.", "eduops.core.cli:runs_app"),
            Command("db", "The state database.", "eduops.core.cli:db_app"),
            Command("upgrade", "Upgrade this workspace in place to this release (a backup first).",
                    "eduops.core.cli:upgrade_command"),
        ),
        web=("eduops.core.api",),
        demo="eduops.core.demo:populate",
        demo_order=10,
        # TOTP secrets are bound to their user row (eduops.web.totp writes them)
        encrypted_columns=(EncryptedColumn("users", "totp_secret", lambda row: f"users.totp_secret:{row['id']}"),),
    )
