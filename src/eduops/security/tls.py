"""TLS with sslyze: protocol versions, weak cipher suites, the certificate chain, hostname match,
days to expiry and Mozilla's intermediate profile. ``judge`` turns an observation into findings."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from eduops.core.checks import Finding, Severity
from eduops.core.i18n import msg
from eduops.errors import ServiceUnavailable

LEGACY_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
WEAK_CIPHER_MARKERS = ("NULL", "EXPORT", "anon", "RC4", "DES", "MD5", "IDEA", "SEED", "CAMELLIA", "ARIA", "PSK",
                       "SRP")
INTERMEDIATE_FIX = ("ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:"
                    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305 (Mozilla intermediate)")


@dataclass
class TlsObservation:
    host: str
    port: int
    protocols: dict[str, list[str]] = field(default_factory=dict)  # accepted protocol → cipher suites
    not_after: datetime | None = None
    subject: str = ""
    issuer: str = ""
    self_signed: bool = False
    trusted: bool = False
    hostname_matches: bool = True
    chain_in_order: bool | None = True
    sha1_in_chain: bool | None = False
    mozilla_issues: dict[str, str] = field(default_factory=dict)
    error: str = ""


def weak_ciphers(suites: list[str]) -> list[str]:
    """Suites no modern profile accepts: NULL, export, anonymous, RC4, (3)DES, MD5 and the like, or CBC-SHA1."""
    weak = []
    for suite in suites:
        if any(marker in suite for marker in WEAK_CIPHER_MARKERS):
            weak.append(suite)
        elif suite.endswith("_CBC_SHA") or suite.endswith("-SHA") and "CBC" not in suite and "GCM" not in suite:
            weak.append(suite)
    return weak


@cache
def intermediate_profile() -> frozenset[str]:
    """The cipher suites (IANA names) Mozilla's intermediate profile allows, TLS 1.2 and 1.3, from the
    profile file sslyze ships (read without importing sslyze)."""
    spec = importlib.util.find_spec("sslyze")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceUnavailable("sslyze is not installed; it carries Mozilla's TLS profile")
    folder = Path(list(spec.submodule_search_locations)[0]) / "mozilla_tls_profile"
    profile = json.loads(max(folder.glob("*.json")).read_text())["configurations"]["intermediate"]
    return frozenset(profile["ciphers"]["iana"]) | frozenset(profile["ciphersuites"])


def outside_profile(suites: list[str], allowed: frozenset[str]) -> list[str]:
    """The accepted suites the profile rejects, each named once, in order (a pure rule)."""
    return sorted({s for s in suites if s not in allowed})


def judge(obs: TlsObservation, now: datetime, warn_days: int = 30, crit_days: int = 7) -> list[Finding]:
    where = f"{obs.host}:{obs.port}"
    if obs.error:
        return [Finding("crit", msg(
                "TLS scan of {where} failed",
                where=where,
            ), obs.error, "make sure the TLS endpoint is reachable")]
    found: list[Finding] = []
    legacy = [p for p in LEGACY_PROTOCOLS if obs.protocols.get(p)]
    if legacy:
        severity: Severity = "crit" if any(p.startswith("SSL") for p in legacy) else "warn"
        found.append(Finding(severity, msg(
                "{where} accepts {join}",
                where=where, join=', '.join(legacy),
            ),  # type: ignore[arg-type]
                             msg(
                                 "{join} are broken or deprecated (RFC 8996) and fail Mozilla's "
                                 "intermediate profile.",
                                 join=', '.join(legacy),
                             ), "ssl_protocols TLSv1.2 TLSv1.3;"))
    accepted = [c for suites in obs.protocols.values() for c in suites]
    rejected = outside_profile(accepted, intermediate_profile())
    if rejected:
        weak = set(weak_ciphers(rejected))
        found.append(Finding("warn", msg("{where} accepts {count} cipher suites Mozilla's intermediate profile "
                                         "rejects", where=where, count=len(rejected)),
                             ", ".join(c + (" (weak)" if c in weak else "") for c in rejected),
                             INTERMEDIATE_FIX))
    if obs.not_after is not None:
        days = (obs.not_after - now).total_seconds() / 86400
        if days < 0:
            found.append(Finding("crit", msg(
                    "certificate of {where} expired {value:.0f} days ago",
                    where=where, value=-days,
                ),
                                 msg(
                                     "not after {not_after} UTC",
                                     not_after=f'{obs.not_after:%Y-%m-%d %H:%M}',
                                 ), "renew the certificate now"))
        elif days < crit_days or days < warn_days:
            found.append(Finding("crit" if days < crit_days else "warn",
                                 msg("certificate of {where} expires in {days:.0f} days", where=where, days=days),
                                 msg(
                                     "not after {not_after} UTC ({subject})",
                                     not_after=f'{obs.not_after:%Y-%m-%d %H:%M}', subject=obs.subject,
                                 ),
                                 "renew it (e.g. certbot renew) and automate renewal"))
    if obs.self_signed:
        found.append(Finding("crit", msg(
                "{where} presents a self-signed certificate",
                where=where,
            ), msg(
                "subject {subject}",
                subject=obs.subject,
            ),
                             "use a certificate from a public CA such as Let's Encrypt"))
    elif not obs.trusted:
        found.append(Finding("crit", msg(
                "certificate chain of {where} is not trusted",
                where=where,
            ), msg(
                "issuer {issuer}",
                issuer=obs.issuer,
            ),
                             "serve the full chain (leaf + intermediates) from a public CA"))
    if not obs.hostname_matches:
        found.append(Finding("crit", msg(
                "certificate of {where} does not name {host}",
                where=where, host=obs.host,
            ), msg(
                "subject {subject}",
                subject=obs.subject,
            ),
                             msg("issue a certificate whose subjectAltName includes {host}", host=obs.host)))
    if obs.chain_in_order is False:
        found.append(Finding("warn", msg("{where} sends its chain out of order", where=where), "",
                             "concatenate leaf first, then intermediates"))
    if obs.sha1_in_chain:
        found.append(Finding("warn", msg(
                "{where} has a SHA-1 signature in its chain",
                where=where,
            ), "", "reissue with SHA-256"))
    covered = ("tls_versions", "ciphers", "certificate_")
    others = {k: v for k, v in obs.mozilla_issues.items() if not k.startswith(covered)}
    if others:
        found.append(Finding("warn", msg("{where} does not meet Mozilla's intermediate profile", where=where),
                             "; ".join(f"{k}: {v}" for k, v in sorted(others.items())),
                             "apply https://ssl-config.mozilla.org/ (intermediate)"))
    return found


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    host = host.lower().rstrip(".")
    for name in san.get_values_for_type(x509.DNSName):
        name = name.lower().rstrip(".")
        if name == host or (name.startswith("*.") and host.count(".") == name.count(".")
                            and host.split(".", 1)[1] == name[2:]):
            return True
    return False


def scan_tls(host: str, port: int = 443, ip_address: str | None = None) -> TlsObservation:
    """Run sslyze against one endpoint and keep what ``judge`` needs."""
    from sslyze import (
        ScanCommandAttemptStatusEnum,
        Scanner,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )
    from sslyze.errors import ServerHostnameCouldNotBeResolved
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    try:
        location = ServerNetworkLocation(hostname=host, port=port, ip_address=ip_address)
    except ServerHostnameCouldNotBeResolved as exc:
        raise ServiceUnavailable(f"{host}: cannot resolve ({exc})") from None
    scanner = Scanner()
    scanner.queue_scans([ServerScanRequest(server_location=location,
                                           scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)])
    with warnings.catch_warnings():  # sslyze's bundled trust stores hold a legacy root cryptography warns about
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        result = next(iter(scanner.get_results()))
    obs = TlsObservation(host, port)
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        obs.error = f"could not connect: {result.connectivity_error_trace or result.scan_status}"
        return obs
    sr = result.scan_result
    for label, attempt in (("SSL 2.0", sr.ssl_2_0_cipher_suites), ("SSL 3.0", sr.ssl_3_0_cipher_suites),
                           ("TLS 1.0", sr.tls_1_0_cipher_suites), ("TLS 1.1", sr.tls_1_1_cipher_suites),
                           ("TLS 1.2", sr.tls_1_2_cipher_suites), ("TLS 1.3", sr.tls_1_3_cipher_suites)):
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and attempt.result is not None \
                and attempt.result.accepted_cipher_suites:
            obs.protocols[label] = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
    cert_attempt = sr.certificate_info
    if cert_attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and cert_attempt.result is not None \
            and cert_attempt.result.certificate_deployments:
        deployment = cert_attempt.result.certificate_deployments[0]
        leaf = deployment.received_certificate_chain[0]
        obs.not_after = leaf.not_valid_after_utc
        obs.subject = leaf.subject.rfc4514_string()
        obs.issuer = leaf.issuer.rfc4514_string()
        obs.self_signed = leaf.subject == leaf.issuer
        obs.trusted = deployment.verified_certificate_chain is not None
        obs.hostname_matches = hostname_matches(leaf, host)
        obs.chain_in_order = deployment.received_chain_has_valid_order
        obs.sha1_in_chain = deployment.verified_chain_has_sha1_signature
    try:
        intermediate = MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
        check_server_against_tls_configuration(result, intermediate)
    except ServerNotCompliantWithTlsConfiguration as exc:
        obs.mozilla_issues = dict(exc.issues)
    except ServerScanResultIncomplete as exc:
        obs.mozilla_issues = {"incomplete": str(exc)}
    return obs


def days_left(obs: TlsObservation, now: datetime | None = None) -> float | None:
    if obs.not_after is None:
        return None
    return (obs.not_after - (now or datetime.now(UTC))).total_seconds() / 86400
