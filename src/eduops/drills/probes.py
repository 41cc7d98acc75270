"""Steady-state probes: each measures one thing and says whether it is within its tolerance."""

from __future__ import annotations

import shutil
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eduops.drills.proxy import split_address


@dataclass
class ProbeResult:
    ok: bool  # the probe succeeded (connected, answered, verified)
    value: float  # its measurement: latency ms, loss %, used %, days left
    detail: str = ""


def _timed(func: Callable[[], str]) -> ProbeResult:
    t0 = time.perf_counter()
    try:
        detail = func()
    except Exception as exc:  # noqa: BLE001 - a failing probe is a result
        return ProbeResult(False, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {str(exc)[:200]}")
    return ProbeResult(True, (time.perf_counter() - t0) * 1000, detail)


def probe_postgres(args: dict[str, Any]) -> ProbeResult:
    import psycopg

    def run() -> str:
        with psycopg.connect(str(args["dsn"]), connect_timeout=max(1, int(float(args.get("timeout", 3))))) as conn:
            conn.execute("SELECT 1").fetchone()
        return "SELECT 1 answered"
    return _timed(run)


def probe_tcp(args: dict[str, Any]) -> ProbeResult:
    def run() -> str:
        with socket.create_connection(split_address(str(args["address"])), timeout=float(args.get("timeout", 3))):
            return "connected"
    return _timed(run)


def probe_http(args: dict[str, Any]) -> ProbeResult:
    import httpx

    def run() -> str:
        response = httpx.get(str(args["url"]), timeout=float(args.get("timeout", 5)), verify=args.get("ca", True))
        if response.status_code != int(args.get("status", 200)):
            raise RuntimeError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"
    return _timed(run)


def probe_tls(args: dict[str, Any]) -> ProbeResult:
    """Verify the certificate at ``address`` (against ``ca`` when given); value = days left."""
    host, port = split_address(str(args["address"]))
    context = ssl.create_default_context(cafile=args.get("ca"))
    loose = ssl.create_default_context(cafile=args.get("ca"))
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    days = 0.0
    try:
        with socket.create_connection((host, port), timeout=float(args.get("timeout", 3))) as raw, \
                loose.wrap_socket(raw, server_hostname=str(args.get("server_name", host))) as tls:
            der = tls.getpeercert(binary_form=True)
        if der:
            from cryptography import x509

            expires = x509.load_der_x509_certificate(der).not_valid_after_utc
            days = (expires - datetime.now(UTC)).total_seconds() / 86400
    except OSError as exc:
        return ProbeResult(False, 0.0, f"cannot connect: {exc}")
    try:
        with socket.create_connection((host, port), timeout=float(args.get("timeout", 3))) as raw, \
                context.wrap_socket(raw, server_hostname=str(args.get("server_name", host))):
            pass
    except ssl.SSLCertVerificationError as exc:
        return ProbeResult(False, round(days, 2), f"certificate not accepted: {exc.verify_message}")
    except (OSError, ssl.SSLError) as exc:
        return ProbeResult(False, round(days, 2), f"TLS failed: {exc}")
    return ProbeResult(True, round(days, 2), f"certificate valid for {days:.1f} more days")


def probe_udp_echo(args: dict[str, Any]) -> ProbeResult:
    """Send ``count`` datagrams to an echo service; value = loss %; detail has the median round trip."""
    count, timeout = int(args.get("count", 20)), float(args.get("timeout", 0.5))
    rtts = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for i in range(count):
            t0 = time.perf_counter()
            sock.sendto(f"eduops-{i}".encode(), split_address(str(args["address"])))
            try:
                while sock.recvfrom(2048)[0] != f"eduops-{i}".encode():
                    pass
                rtts.append((time.perf_counter() - t0) * 1000)
            except TimeoutError:
                continue
    loss = 100.0 * (count - len(rtts)) / count
    median = sorted(rtts)[len(rtts) // 2] if rtts else float("nan")
    return ProbeResult(bool(rtts), loss, f"{loss:.0f}% lost, median round trip {median:.0f} ms")


def probe_disk(args: dict[str, Any]) -> ProbeResult:
    usage = shutil.disk_usage(str(args["path"]))
    used = 100.0 * usage.used / usage.total
    return ProbeResult(True, round(used, 2), f"{used:.1f}% used, {usage.free / 1e9:.1f} GB free")


PROBES: dict[str, Callable[[dict[str, Any]], ProbeResult]] = {
    "postgres": probe_postgres, "tcp": probe_tcp, "http": probe_http, "tls": probe_tls,
    "udp_echo": probe_udp_echo, "disk": probe_disk,
}
REQUIRED = {"postgres": ("dsn",), "tcp": ("address",), "http": ("url",), "tls": ("address",),
            "udp_echo": ("address",), "disk": ("path",)}


def within(result: ProbeResult, tolerance: Any) -> bool:
    """Chaos Toolkit tolerances: ``true``/``false`` (the probe succeeds or not), a number (the value
    equals it), ``[low, high]`` (the value lies between), or ``{max: x}`` / ``{min: x}`` (and succeeds)."""
    if isinstance(tolerance, bool):
        return result.ok is tolerance
    if isinstance(tolerance, int | float):
        return result.ok and result.value == tolerance
    if isinstance(tolerance, list) and len(tolerance) == 2:
        return result.ok and float(tolerance[0]) <= result.value <= float(tolerance[1])
    if isinstance(tolerance, dict):
        return (result.ok and result.value <= float(tolerance.get("max", float("inf")))
                and result.value >= float(tolerance.get("min", float("-inf"))))
    raise ValueError(f"tolerance {tolerance!r} is not understood")


def valid_tolerance(tolerance: Any) -> bool:
    try:
        within(ProbeResult(True, 0.0), tolerance)
    except (ValueError, TypeError):
        return False
    return True
