"""Is a process still there: the one answer every interrupted-work check uses."""

from __future__ import annotations

import psutil


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this host (a zombie counts as gone)."""
    if not pid or pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
