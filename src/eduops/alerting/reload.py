"""Reloading eduops.toml and the rule files without a restart (SIGHUP, or ``POST /-/reload``).

Background work that keeps configuration (alerting: rules, routes, receivers, channels, inhibition;
monitoring: collectors and scrape targets) registers a *reloader* for its workspace. A reload
first reads and checks everything — eduops.toml, every section, every rule file — and only when
all of it is good hands the new settings to each reloader; a broken file keeps the running
configuration and the error says what is wrong, as Prometheus and Alertmanager do.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eduops.errors import EduopsError, UsageError

log = logging.getLogger(__name__)

# (new settings) → commit: checks and builds everything first (UsageError when it cannot apply), and
# returns the function that swaps it in; commits run only once every reloader has prepared.
Reloader = Callable[[Any], Callable[[], None]]


@dataclass
class ReloadState:
    reloaders: dict[str, Reloader] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATES: dict[str, ReloadState] = {}
_GUARD = threading.Lock()


def _state(ws: Any) -> ReloadState:
    with _GUARD:
        return _STATES.setdefault(str(ws.settings.home), ReloadState())


def register(ws: Any, name: str, reloader: Reloader) -> Callable[[], None]:
    """Add a reloader for ``ws``; returns the function that removes it."""
    state = _state(ws)
    state.reloaders[name] = reloader

    def unregister() -> None:
        state.reloaders.pop(name, None)

    return unregister


def read_settings(old: Any) -> Any:
    """eduops.toml and EDUOPS_* read again; the home and the state database stay what they are."""
    from eduops.config import load_settings

    return load_settings(old.config_file, home=str(old.home), database_url=old.database_url)


def validate(settings: Any) -> None:
    """Every section a reloader uses, and every rule file, checked; UsageError naming the first problem."""
    from eduops.alerting.pipeline import rule_files
    from eduops.alerting.rules import load_rule_files
    from eduops.alerting.settings import alerting_settings

    ms = alerting_settings(settings)
    load_rule_files(rule_files(settings, ms))


def reload(ws: Any, now: datetime | None = None) -> dict[str, Any]:
    """Re-read and apply the configuration; raises UsageError (nothing changed) when any of it is bad."""
    state = _state(ws)
    with state.lock:
        at = (now or datetime.now(UTC)).isoformat()
        try:
            new = read_settings(ws.settings)
            validate(new)
            commits = []
            for name, reloader in list(state.reloaders.items()):
                try:
                    commits.append(reloader(new))
                except EduopsError as exc:
                    raise UsageError(f"{name}: {exc.message}") from None
        except EduopsError as exc:
            state.last = {"ok": False, "at": at, "error": exc.message}
            log.error("reload refused, the running configuration stays: %s", exc.message)
            raise UsageError(f"reload refused, the running configuration stays: {exc.message}") from None
        ws.settings = new  # first: what the commits build (evaluator, forwarder) reads the new settings
        for commit in commits:
            commit()
        state.last = {"ok": True, "at": at, "reloaded": sorted(state.reloaders)}
        log.info("configuration reloaded: %s", ", ".join(sorted(state.reloaders)) or "nothing running")
        return dict(state.last)


def last_reload(ws: Any) -> dict[str, Any]:
    """The last reload's outcome; one in progress is waited for (its rules may already be swapped in, its outcome
    not yet written)."""
    state = _state(ws)
    with state.lock:
        return dict(state.last)


def install_sighup(ws: Any) -> bool:
    """Reload on SIGHUP (only the main thread may install a handler; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return False

    def on_hup(signum: int, frame: Any) -> None:
        # the handler runs between bytecodes of the main thread: reload on a thread of its own
        def run() -> None:
            try:
                reload(ws)
            except UsageError:
                pass  # logged by reload()

        threading.Thread(target=run, name="eduops-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, on_hup)
    return True
