"""Built-in faults: each injects, returns a JSON handle, and reverts from that handle.

Active faults are written to a state file first, so a drill killed half-way is cleaned up on the next
start (``recover_leftovers``): fill files deleted, stopped processes continued, stopped services started.
Proxies, TLS servers and held connections live inside the eduops process and end with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eduops.core.runs import pid_alive
from eduops.drills.proxy import Proxy, split_address
from eduops.drills.tlsca import TestTLSServer

FILL_PREFIX = ".eduops-drill-fill-"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def parse_size(value: Any) -> int:
    """'500MB', '2G', '1.5GiB', 1024 → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size such as 500MB or 2GB")
    return int(float(match.group(1)) * 1024 ** "_KMGT".index(match.group(2).upper() or "_"))


@dataclass
class Live:
    """What a running drill holds: its proxies, servers and connections, and where to write state."""

    state_file: Path
    workdir: Path
    proxies: dict[str, Proxy] = field(default_factory=dict)
    servers: dict[str, TestTLSServer] = field(default_factory=dict)
    held: dict[str, Any] = field(default_factory=dict)  # fault id → in-process objects to close on revert


@dataclass(frozen=True)
class Fault:
    name: str
    required: tuple[str, ...]
    inject: Callable[[Live, dict[str, Any]], dict[str, Any]]
    revert: Callable[[Live, dict[str, Any]], None]
    description: str
    leftover: Callable[[dict[str, Any]], None] = lambda handle: None  # undo after the process died


def _proxy(live: Live, args: dict[str, Any]) -> Proxy:
    name = str(args["proxy"])
    if name not in live.proxies:
        raise ValueError(f"no proxy named {name!r} in environment.proxies")
    return live.proxies[name]


def _proxy_fault(mode: str) -> Callable[[Live, dict[str, Any]], dict[str, Any]]:
    def inject(live: Live, args: dict[str, Any]) -> dict[str, Any]:
        _proxy(live, args).set(mode, float(args.get("delay_ms", 0)), float(args.get("jitter_ms", 0)),
                               float(args.get("loss_pct", 0)))
        return {"proxy": args["proxy"], "mode": mode}
    return inject


def _proxy_restore(live: Live, handle: dict[str, Any]) -> None:
    if handle["proxy"] in live.proxies:
        live.proxies[handle["proxy"]].set("pass")


def _find_pids(args: dict[str, Any]) -> list[int]:
    if "pid" in args:
        return [int(args["pid"])]
    if "pid_file" in args:
        return [int(Path(str(args["pid_file"])).read_text().split()[0])]
    pattern = str(args["match"])
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if pattern in cmdline:
                found.append(int(entry.name))
    if not found:
        raise ValueError(f"no process matches {pattern!r}")
    return found


def _stop_process(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    pids = _find_pids(args)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return {"pids": pids}


def _continue(handle: dict[str, Any]) -> None:
    for pid in handle["pids"]:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def _kill_process(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    pids = _find_pids(args)
    sig = getattr(signal, f"SIG{str(args.get('signal', 'KILL')).upper().removeprefix('SIG')}")
    for pid in pids:
        os.kill(pid, sig)
    return {"pids": pids, "restart": [str(c) for c in args.get("restart") or []]}


def _restart(handle: dict[str, Any]) -> None:
    if handle.get("restart"):
        subprocess.Popen(handle["restart"], start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()[-300:]}")


def _stop_service(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    _run([str(c) for c in args["stop"]])
    return {"start": [str(c) for c in args["start"]]}


def _fill_disk(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    """Write a file of ``size`` into ``path``, but never leave less than ``keep_free`` (1 GB) free."""
    folder = Path(str(args["path"]))
    folder.mkdir(parents=True, exist_ok=True)
    want = parse_size(args["size"])
    keep_free = parse_size(args.get("keep_free", "1GB"))
    size = max(0, min(want, shutil.disk_usage(folder).free - keep_free))
    target = folder / f"{FILL_PREFIX}{uuid.uuid4().hex[:8]}"
    handle = {"file": str(target), "bytes": size, "capped": size < want}
    _record(live, "disk.fill", handle)  # before writing: a crash mid-write still leaves a trace
    chunk = b"\0" * (4 << 20)
    with target.open("wb") as fh:
        written = 0
        while written < size:
            written += fh.write(chunk[: min(len(chunk), size - written)])
        fh.flush()
        os.fsync(fh.fileno())
    return handle


def _remove_fill(handle: dict[str, Any]) -> None:
    Path(handle["file"]).unlink(missing_ok=True)


def _exhaust_pool(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    """Open and hold ``connections`` connections: PostgreSQL sessions (``dsn``) or raw TCP (``address``)."""
    count = int(args["connections"])
    held: list[Any] = []
    error = ""
    for _ in range(count):
        try:
            if "dsn" in args:
                import psycopg

                held.append(psycopg.connect(str(args["dsn"]), connect_timeout=5))
            else:
                held.append(socket.create_connection(split_address(str(args["address"])), timeout=5))
        except Exception as exc:  # noqa: BLE001 - the pool is exhausted, which is the point
            error = str(exc).splitlines()[0]
            break
    key = uuid.uuid4().hex
    live.held[key] = held
    return {"key": key, "opened": len(held), "asked": count, "stopped_by": error}


def _release_pool(live: Live, handle: dict[str, Any]) -> None:
    for conn in live.held.pop(handle["key"], []):
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass


def _tls_server(live: Live, args: dict[str, Any]) -> TestTLSServer:
    name = str(args["server"])
    if name not in live.servers:
        raise ValueError(f"no TLS server named {name!r} in environment.tls_servers")
    return live.servers[name]


def _expire_cert(live: Live, args: dict[str, Any]) -> dict[str, Any]:
    _tls_server(live, args).expired = True
    return {"server": args["server"]}


def _renew_cert(live: Live, handle: dict[str, Any]) -> None:
    if handle["server"] in live.servers:
        live.servers[handle["server"]].expired = False


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("proxy.cut", ("proxy",), _proxy_fault("cut"), _proxy_restore,
          "the service behind the proxy is unreachable: connections closed, new ones refused"),
    Fault("proxy.reset", ("proxy",), _proxy_fault("reset"), _proxy_restore,
          "connections through the proxy are aborted with TCP resets"),
    Fault("proxy.delay", ("proxy", "delay_ms"), _proxy_fault("delay"), _proxy_restore,
          "every chunk through the proxy waits delay_ms ± jitter_ms (a slow database)"),
    Fault("network.impair", ("proxy",), _proxy_fault("loss"), _proxy_restore,
          "latency, jitter and loss on a TCP or UDP path (delay_ms, jitter_ms, loss_pct)"),
    Fault("process.stop", (), _stop_process, lambda live, h: _continue(h),
          "freeze a process (SIGSTOP) by pid, pid_file or match; it continues on rollback", _continue),
    Fault("process.kill", (), _kill_process, lambda live, h: _restart(h),
          "kill a process (signal, default KILL); rollback runs `restart`", _restart),
    Fault("service.stop", ("stop", "start"), _stop_service, lambda live, h: _run(h["start"]),
          "stop a service with the `stop` command; rollback runs `start`", lambda h: _run(h["start"])),
    Fault("disk.fill", ("path", "size"), _fill_disk, lambda live, h: _remove_fill(h),
          "fill a directory with a file of `size` (never past keep_free, 1GB)", _remove_fill),
    Fault("pool.exhaust", ("connections",), _exhaust_pool, _release_pool,
          "hold `connections` PostgreSQL sessions (dsn) or TCP connections (address)"),
    Fault("tls.expired", ("server",), _expire_cert, _renew_cert,
          "the TLS server (environment.tls_servers) presents a certificate from the test CA that has expired"),
)}
ALIASES = {"process.stop": ("pid", "pid_file", "match"),
           "process.kill": ("pid", "pid_file", "match"), "pool.exhaust": ("dsn", "address")}


def missing_arguments(fault: Fault, args: dict[str, Any]) -> list[str]:
    missing = [a for a in fault.required if a not in args]
    one_of = ALIASES.get(fault.name)
    if one_of and not any(a in args for a in one_of):
        missing.append(" or ".join(one_of))
    return missing


# ------------------------------------------------------------------ state file of active faults


def _read(state_file: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def _write(state_file: Path, entries: list[dict[str, Any]]) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(state_file)


def _record(live: Live, fault: str, handle: dict[str, Any]) -> None:
    entries = [e for e in _read(live.state_file) if e.get("handle") != handle]
    entries.append({"fault": fault, "handle": handle, "pid": os.getpid(), "at": time.time()})
    _write(live.state_file, entries)


def inject(live: Live, fault_name: str, args: dict[str, Any]) -> dict[str, Any]:
    handle = FAULTS[fault_name].inject(live, args)
    _record(live, fault_name, handle)
    return handle


def revert(live: Live, fault_name: str, handle: dict[str, Any]) -> None:
    FAULTS[fault_name].revert(live, handle)
    _write(live.state_file, [e for e in _read(live.state_file) if e.get("handle") != handle])


def recover_leftovers(state_file: Path) -> list[str]:
    """Undo faults left by a drill whose process is gone; returns what was cleaned up."""
    cleaned, keep = [], []
    for entry in _read(state_file):
        pid = int(entry.get("pid", 0))
        if pid == os.getpid() or pid_alive(pid):
            keep.append(entry)
            continue
        fault = FAULTS.get(str(entry.get("fault")))
        try:
            if fault is not None:
                fault.leftover(entry["handle"])
            cleaned.append(f"{entry.get('fault')}: {json.dumps(entry['handle'])[:200]}")
        except Exception as exc:  # noqa: BLE001 - keep it for the next try, say why
            keep.append(entry)
            cleaned.append(f"{entry.get('fault')}: could not clean up ({exc})")
    _write(state_file, keep)
    return cleaned
