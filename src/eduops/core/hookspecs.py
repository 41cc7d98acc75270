"""The hooks a domain implements, built-in or outside plugin alike (Datasette's pattern, on pluggy).

A plugin is a module with ``@hookimpl`` functions, named in the ``eduops.plugins`` entry-point group
(every built-in domain is, in pyproject.toml) or in ``plugins = [...]`` of eduops.toml. Hooks that
describe a domain return names ("module:attribute") instead of objects, so asking what exists
imports nothing heavy: `eduops --help` lists every command without loading a single domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eduops.core.checks import Measurement

hookspec = pluggy.HookspecMarker("eduops")
hookimpl = pluggy.HookimplMarker("eduops")

ContextFunc = Callable[[Mapping[str, Any]], str]
ConfigContextFunc = Callable[[tuple[str | int, ...], Mapping[str, Any]], str]


@dataclass(frozen=True)
class Command:
    """A root CLI command: ``target`` is a Typer app (a group) or a function, loaded when invoked."""

    name: str
    help: str
    target: str  # "module:attribute"


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # an English msgid; the console translates it
    permission: str = "read"
    order: int = 50
    group: str = ""  # the menu it sits in (an English msgid, see eduops.core.areas.NAV_GROUPS); "" = top level


@dataclass(frozen=True)
class Area:
    """A tile of the overview: the checks registered with this area feed it."""

    key: str
    label: str  # an English msgid
    order: int = 50
    page: str = ""  # the area's console page, which shows the same headline as the tile
    headline: str = ""  # "module:function", (ws, now) -> core.areas.Headline; "" = its latest check results


@dataclass(frozen=True)
class EncryptedColumn:
    """``table.column`` stores values from ``crypto.encrypt``; ``context`` rebuilds their context from the row."""

    table: str
    column: str
    context: ContextFunc | None = None


@dataclass(frozen=True)
class ConfigSecrets:
    """Encrypted values in the ``[section]`` of eduops.toml and how each was bound to its place."""

    section: str
    context: ConfigContextFunc


@dataclass(frozen=True)
class Domain:
    """What a domain owns. Module names are imported only when that part is needed."""

    name: str
    folder: Path  # holds templates/<name>/, locale/zh_CN.po, rules/*.yml, migrations/
    models: tuple[str, ...] = ()  # modules defining tables on eduops.db.Base
    checks: tuple[str, ...] = ()  # modules whose @check functions the calendar can run
    commands: tuple[Command, ...] = ()
    web: tuple[str, ...] = ()  # modules with ``router``, ``pages``, ``NAV``, ``setup(app)``
    background: str = ""  # "module:start_background", started by `eduops serve`: (ws) -> stop()
    demo: str = ""  # "module:populate", its share of `eduops demo`
    # "module:function", run by `eduops upgrade` after the migrations: (settings, progress(message, fraction)) ->
    # lines to show; work the domain would otherwise do in the background after the upgrade (indexes of its stores)
    upgrade: str = ""
    demo_order: int = 50
    areas: tuple[Area, ...] = ()
    encrypted_columns: tuple[EncryptedColumn, ...] = ()
    config_secrets: tuple[ConfigSecrets, ...] = ()


@hookspec
def eduops_domain() -> Domain:  # type: ignore[empty-body]
    """Declare the domain: its tables, checks, commands, routes, pages, demo, areas and secrets."""


@hookspec
def eduops_record_measurements(session: Session, measurements: Iterable[Measurement], ts: datetime) -> int | None:
    """Store a run's measurements (in the run's transaction); the metric store implements it."""

