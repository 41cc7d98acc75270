"""A throw-away test CA and a TLS server that can switch to a certificate which has already expired."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eduops drill"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, host: str, not_before: dt.datetime,
          not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def make_test_chain(directory: Path, host: str = "127.0.0.1", expired_days: int = 3) -> dict[str, str]:
    """A test CA (ca.pem) with two leaves for ``host``: valid for 90 days, and expired ``expired_days`` ago."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("eduops drill test CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=400)).not_valid_after(now + dt.timedelta(days=400))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for label, start, end in (("valid", now - dt.timedelta(days=1), now + dt.timedelta(days=90)),
                              ("expired", now - dt.timedelta(days=90), now - dt.timedelta(days=expired_days))):
        cert, key = _leaf(ca, ca_key, host, start, end)
        paths[label] = directory / f"{label}.pem"
        paths[f"{label}_key"] = directory / f"{label}.key"
        paths[label].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{label}_key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
        paths[f"{label}_key"].chmod(0o600)
    return {k: str(v) for k, v in paths.items()}


class TestTLSServer:
    """Answers TLS on ``host:port`` with the valid certificate, or the expired one while ``expired`` is set."""

    def __init__(self, host: str, port: int, chain: dict[str, str]) -> None:
        self.chain = chain
        self.contexts = {}
        for label in ("valid", "expired"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(chain[label], chain[f"{label}_key"])
            self.contexts[label] = context
        self.expired = False
        self.sock = socket.create_server((host, port))
        self.address = f"{host}:{self.sock.getsockname()[1]}"
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True, name=f"drill-tls-{self.address}")
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(3)
        context = self.contexts["expired" if self.expired else "valid"]
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(4096)
                tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=3)
        self.sock.close()
