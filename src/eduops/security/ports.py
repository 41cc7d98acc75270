"""Open ports: a bounded TCP connect scan of configured ports compared with an allow-list."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from eduops.core.checks import Finding, Severity
from eduops.core.i18n import msg
from eduops.errors import UsageError

WELL_KNOWN = {21: "FTP", 22: "SSH", 23: "Telnet", 25: "SMTP", 80: "HTTP", 443: "HTTPS", 3306: "MySQL/MariaDB",
              5432: "PostgreSQL", 6379: "Redis", 8080: "HTTP alt", 9200: "Elasticsearch", 11211: "memcached",
              27017: "MongoDB"}
DANGEROUS = {21, 23, 3306, 5432, 6379, 9200, 11211, 27017}


def parse_port_spec(items: list[str] | list[int] | str) -> list[int]:
    """'22, 80, 8000-8010' (or a list of such) → sorted unique ports; bad input is a UsageError."""
    parts = items.split(",") if isinstance(items, str) else [p for i in items for p in str(i).split(",")]
    ports: set[int] = set()
    for part in (p.strip() for p in parts):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            start, end = int(lo), int(hi or lo)
        except ValueError:
            raise UsageError(f"port {part!r} is not a number or a range like 8000-8100") from None
        if not (1 <= start <= end <= 65535):
            raise UsageError(f"port range {part!r} must lie within 1–65535 and go upwards")
        ports.update(range(start, end + 1))
    return sorted(ports)


@dataclass(frozen=True)
class OpenPort:
    host: str
    port: int


def _is_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def scan_ports(host: str, ports: list[int], timeout: float = 0.5, max_ports: int = 4096,
               workers: int = 64) -> list[OpenPort]:
    """TCP connect to each port (at most ``max_ports``, ``workers`` at a time)."""
    if len(ports) > max_ports:
        raise UsageError(f"{len(ports)} ports for {host} exceed the bound of {max_ports}; narrow [security] ports")
    with ThreadPoolExecutor(max_workers=min(workers, max(len(ports), 1))) as pool:
        states = list(pool.map(lambda p: _is_open(host, p, timeout), ports))
    return [OpenPort(host, p) for p, is_open in zip(ports, states, strict=True) if is_open]


def judge(open_ports: list[OpenPort], allowed: set[int]) -> list[Finding]:
    """An open port outside the allow-list is a finding; databases and caches are critical."""
    found = []
    for op in open_ports:
        if op.port in allowed:
            continue
        service = WELL_KNOWN.get(op.port, "unknown service")
        severity: Severity = "crit" if op.port in DANGEROUS else "warn"
        found.append(Finding(severity, msg(
                "{host}:{port} ({service}) is open and not on the allow-list",
                host=op.host, port=op.port, service=service,
            ),  # type: ignore[arg-type]
                             msg("TCP connect to {host}:{port} succeeded.", host=op.host, port=op.port),
                             msg(
                                 "close it or bind the service to 127.0.0.1 / firewall it (ufw deny "
                                 "{port}/tcp); if it must stay open, add it to [security] ports_allowed",
                                 port=op.port,
                             )))
    return found
