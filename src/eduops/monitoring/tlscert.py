"""Certificate expiry of TLS endpoints: days left, who issued it, whether it is trusted."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509

from eduops.errors import ConfigError


@dataclass
class CertInfo:
    endpoint: str
    host: str
    port: int
    not_after: datetime
    days_left: float
    subject: str
    issuer: str
    trusted: bool
    verify_error: str = ""


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``https://host[:port]/...`` or ``host[:port]`` → (host, port); 443 by default."""
    raw = endpoint if "://" in endpoint else f"https://{endpoint}"
    parts = urlsplit(raw)
    if not parts.hostname:
        raise ConfigError(f"inspection.endpoints: {endpoint!r} has no host name")
    try:
        port = parts.port or 443
    except ValueError:
        raise ConfigError(f"inspection.endpoints: {endpoint!r} has a bad port") from None
    return parts.hostname, port


def fetch_certificate(endpoint: str, now: datetime, timeout: float = 10.0, ca_file: str | None = None) -> CertInfo:
    """Connect, read the leaf certificate (also an untrusted one) and try a verified handshake."""
    host, port = parse_endpoint(endpoint)
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        loose.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ConnectionError(f"{host}:{port} presented no certificate")
    cert = x509.load_der_x509_certificate(der)
    trusted, error = True, ""
    strict = ssl.create_default_context(cafile=ca_file)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            strict.wrap_socket(sock, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as exc:
        trusted, error = False, exc.verify_message or str(exc)
    not_after = cert.not_valid_after_utc
    return CertInfo(
        endpoint=endpoint,
        host=host,
        port=port,
        not_after=not_after,
        days_left=(not_after - now).total_seconds() / 86400,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        trusted=trusted,
        verify_error=error,
    )


def cert_severity(days_left: float, warn_days: float, crit_days: float) -> str:
    """ok, warn or crit for a certificate with ``days_left`` (negative: expired)."""
    if days_left <= crit_days:
        return "crit"
    if days_left <= warn_days:
        return "warn"
    return "ok"
