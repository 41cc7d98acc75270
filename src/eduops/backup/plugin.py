"""Backups: sources, restic targets, verification and restore drills."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eduops.core.hookspecs import Area, Command, ConfigSecrets, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="backup",
        folder=Path(__file__).parent,
        models=("eduops.backup.models",),
        checks=("eduops.backup.checks",),
        commands=(Command("backup", "Backups: restic to several targets, verification, restore drills.",
                          "eduops.backup.cli:app"),),
        web=("eduops.backup.api",),
        demo="eduops.backup.demo:populate",
        demo_order=60,
        areas=(Area("backups", "Backups", 40, page="/backup", headline="eduops.backup.overview:headline"),),
        config_secrets=(ConfigSecrets("backup", _secret_context),),
    )


def _secret_context(path: tuple[str | int, ...], table: Mapping[str, Any]) -> str:
    """Passwords in [backup] are bound to their place: ``targets[n].password`` → backup:target:<name>:password."""
    from eduops.backup.settings import secret_context

    return secret_context(str(path[0]).removesuffix("s"), str(table.get("name", "")), str(path[-1]))
