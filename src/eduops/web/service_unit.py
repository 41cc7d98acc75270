"""`eduops service install`: a systemd unit that runs `eduops serve` for one workspace.

The unit restarts eduops when it fails, runs it as its own unprivileged user, and hardens it the way
systemd allows: no new privileges, the whole file system read-only except the workspace (and any
other folder named with ``--writable``), a private /tmp, no devices, no kernel tunables. systemd stops
it with SIGTERM and waits ``shutdown_timeout_seconds`` plus a margin before SIGKILL, so eduops can
finish or journal what it is doing (``eduops.web.shutdown``).
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass, field
from pathlib import Path

from eduops.errors import UsageError

HOME_DIRS = ("/home", "/root", "/run/user")
DEFAULT_UNIT = Path("/etc/systemd/system/eduops.service")


@dataclass(frozen=True)
class UnitSpec:
    workspace: Path
    executable: Path
    user: str
    group: str
    host: str = "127.0.0.1"
    port: int = 8080
    stop_timeout_s: float = 30.0
    writable: tuple[Path, ...] = field(default_factory=tuple)


def _under_home(path: Path) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in HOME_DIRS)


def _quote(value: str) -> str:
    """A value for a unit file's command line (systemd's C-style quoting)."""
    if value and all(c.isalnum() or c in "/._-:+=@," for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_unit(spec: UnitSpec) -> str:
    """The unit file's text (a pure function: what `service install` writes and the tests verify)."""
    writable = [spec.workspace, *spec.writable]
    # ProtectHome=yes hides /home, /root and /run/user; when the workspace or eduops itself lives there,
    # read-only keeps them visible and ReadWritePaths opens the workspace again
    protect_home = "read-only" if any(_under_home(p) for p in [*writable, spec.executable]) else "yes"
    # systemd waits this long after SIGTERM before SIGKILL: eduops's own timeout plus time to close stores
    stop_s = int(spec.stop_timeout_s) + 30
    exec_start = " ".join(_quote(str(a)) for a in
                          (spec.executable, "serve", "--host", spec.host, "--port", str(spec.port)))
    return f"""[Unit]
Description=eduops maintenance control plane ({spec.workspace})
After=network-online.target postgresql.service mariadb.service redis-server.service
Wants=network-online.target

[Service]
Type=exec
User={spec.user}
Group={spec.group}
WorkingDirectory={_quote(str(spec.workspace))}
Environment=EDUOPS_HOME={_quote(str(spec.workspace))}
Environment=PYTHONUNBUFFERED=1
ExecStart={exec_start}
Restart=on-failure
RestartSec=5s
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec={stop_s}s
UMask=0077
LimitNOFILE=65536

NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome={protect_home}
ReadWritePaths={" ".join(_quote(str(p)) for p in writable)}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
"""


def check_location(workspace: Path) -> None:
    """A workspace under /tmp or /var/tmp would be hidden from the service by PrivateTmp (and cleaned by the OS)."""
    for tmp in ("/tmp", "/var/tmp"):
        if workspace == Path(tmp) or Path(tmp) in workspace.parents:
            raise UsageError(f"the workspace {workspace} is under {tmp}, which the service cannot see (PrivateTmp) and "
                             "the system cleans; move it, e.g. to /srv/eduops or /var/lib/eduops, and set EDUOPS_HOME")


def user_group(user: str) -> tuple[str, str]:
    """The user and its primary group, or a UsageError saying how to create it."""
    import grp

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UsageError(f"--user {user!r}: no such user; create it first, e.g. `adduser --system --group "
                         f"--no-create-home {user}`, then give it the workspace (`chown -R {user}: WORKSPACE`)"
                         ) from None
    try:
        return user, grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        return user, str(entry.pw_gid)


def ownership_problems(workspace: Path, user: str) -> list[str]:
    """Files of the workspace the service user will not own (it must write the state database and stores)."""
    uid = pwd.getpwnam(user).pw_uid
    wrong = [p for p in [workspace, *workspace.iterdir()] if p.stat().st_uid != uid]
    return [str(p) for p in wrong[:5]]
