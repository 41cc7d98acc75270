"""The plugin manager: every domain, built in or not, is found through the ``eduops.plugins`` entry points.

Core holds no list of domains. ``domains()`` asks each plugin's ``eduops_domain`` hook what it owns;
the helpers below import a part (models, checks, web modules) only when it is wanted.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from eduops.core import hookspecs
from eduops.core.hookspecs import Area, ConfigSecrets, Domain, EncryptedColumn, NavItem

log = logging.getLogger(__name__)
GROUP = "eduops.plugins"

__all__ = ["NavItem", "Domain", "manager", "domains", "domain", "load", "load_models", "load_checks",
           "areas", "encrypted_columns", "config_secrets", "add_plugins", "folders"]


@lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("eduops")
    pm.add_hookspecs(hookspecs)
    for ep in entry_points(group=GROUP):
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not take eduops down
            log.error("plugin %s failed to load: %s", ep.name, exc)
    return pm


def add_plugins(modules: Iterable[str]) -> None:
    """Register the modules named in ``plugins = [...]`` (a module without hooks just gets imported)."""
    pm = manager()
    for name in modules:
        module = importlib.import_module(name)
        if pm.get_plugin(name) is None and not pm.is_registered(module):
            pm.register(module, name=name)
            domains.cache_clear()


@lru_cache(maxsize=1)
def domains() -> tuple[Domain, ...]:
    """Every declared domain, core first, then by name."""
    found = [d for d in manager().hook.eduops_domain() if d is not None]
    return tuple(sorted(found, key=lambda d: (d.name != "core", d.name)))


def domain(name: str) -> Domain | None:
    return next((d for d in domains() if d.name == name), None)


def folders(kind: str) -> list[Path]:
    """Each domain's ``kind`` folder (templates, locale, rules) that exists."""
    return [d.folder / kind for d in domains() if (d.folder / kind).is_dir()]


def load(target: str) -> Any:
    """``"module:attribute"`` → the attribute; ``"module"`` → the module."""
    module_name, _, attribute = target.partition(":")
    module: ModuleType = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def load_models() -> None:
    for d in domains():
        for module in d.models:
            importlib.import_module(module)


_checks_loaded = False


def load_checks(extra_modules: Iterable[str] = ()) -> None:
    """Import every domain's check modules and the modules named in ``plugins``."""
    global _checks_loaded
    add_plugins(extra_modules)
    if _checks_loaded:
        return
    _checks_loaded = True
    for d in domains():
        for module in d.checks:
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken check module must not stop the others
                log.error("checks of %s failed to load: %s", d.name, exc)


def areas() -> list[Area]:
    return sorted((a for d in domains() for a in d.areas), key=lambda a: (a.order, a.key))


def encrypted_columns() -> dict[tuple[str, str], EncryptedColumn]:
    return {(c.table, c.column): c for d in domains() for c in d.encrypted_columns}


def config_secrets() -> dict[str, ConfigSecrets]:
    return {s.section: s for d in domains() for s in d.config_secrets}
