"""How domains plug in, by convention (one place, like Datasette's hookspecs).

A domain is a subpackage ``eduops.<domain>`` that may hold:

- ``models.py``    tables on ``eduops.db.Base`` (migrations in ``migrations/`` as an Alembic branch)
- ``service.py``   the logic; may define ``start_background(ws) -> stop`` for work that runs beside
                   the scheduler in `eduops serve` (collectors, rule evaluation, delivery)
- ``checks.py``    functions decorated with ``eduops.core.checks.check``
- ``cli.py``       ``register(app: typer.Typer) -> None`` adds its commands to the root CLI
- ``api.py``       ``router`` (an APIRouter, JSON API) and optionally ``pages`` (console pages) and
                   ``NAV`` (a list of ``eduops.core.plugins.NavItem``)
- ``demo.py``      ``populate(demo: eduops.demo.DemoContext) -> None`` adds its share of the demo;
                   ``ORDER`` (int, default 50) orders the domains
- ``templates/``   Jinja2 templates, under a folder named after the domain
- ``locale/zh_CN.po`` its Simplified Chinese messages
- ``rules/*.yml``  default alert rules

Third parties add checks through the ``eduops.checks`` entry-point group.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import eduops

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(eduops.__file__).parent
NOT_DOMAINS = {"migrations"}


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # an English msgid; the console translates it
    permission: str = "read"
    order: int = 50


def domains() -> list[str]:
    """Every subpackage of eduops, core first."""
    names = [m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]) if m.ispkg and m.name not in NOT_DOMAINS]
    return sorted(names, key=lambda n: (n != "core", n))


def domain_modules(kind: str) -> list[ModuleType]:
    """``eduops.<domain>.<kind>`` for every domain that has one."""
    found = []
    for name in domains():
        if not (PACKAGE_DIR / name / f"{kind}.py").exists():
            continue
        found.append(importlib.import_module(f"eduops.{name}.{kind}"))
    return found


_checks_loaded = False


def load_checks(extra_modules: list[str] | tuple[str, ...] = ()) -> None:
    """Import every domain's checks, the entry-point plugins and the modules named in ``plugins``."""
    global _checks_loaded
    for module in extra_modules:
        importlib.import_module(module)
    if _checks_loaded:
        return
    _checks_loaded = True
    importlib.import_module("eduops.core.overdue")
    domain_modules("checks")
    for ep in entry_points(group="eduops.checks"):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must not take eduops down
            log.error("check plugin %s failed to load: %s", ep.name, exc)


def load_models() -> None:
    domain_modules("models")
