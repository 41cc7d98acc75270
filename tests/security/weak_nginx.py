"""A local nginx with known weaknesses: no HSTS, no CSP, a session cookie without HttpOnly/Secure,
a self-signed certificate expiring in 5 days, TLS 1.0 enabled. Runs as the test's own process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

NGINX = "/usr/sbin/nginx"
PAGE = "<!doctype html><html><head><title>demo</title><script src=\"/app.js\"></script></head><body>hi</body></html>"


@dataclass
class WeakSite:
    https_port: int
    http_port: int
    not_after: datetime
    ca_file: Path

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}/"

    @property
    def http_url(self) -> str:
        return f"http://localhost:{self.http_port}/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path, days: int = 5) -> tuple[Path, Path, datetime]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.not_valid_after_utc


CONFIG = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{http_port};
    location / {{ default_type text/html; return 200 '{page}'; }}
  }}
  server {{
    listen 127.0.0.1:{https_port} ssl;
    server_name localhost;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_ciphers ALL:@SECLEVEL=0;
    location / {{
      add_header Set-Cookie "sessionid=3f2a9c; Path=/";
      add_header X-Content-Type-Options nosniff;
      default_type text/html;
      return 200 '{page}';
    }}
  }}
}}
"""


def wait_for_port(port: int, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {deadline_s}s")


@contextmanager
def weak_nginx(directory: Path) -> Iterator[WeakSite]:
    if not Path(NGINX).exists() or shutil.which("openssl") is None and False:
        raise FileNotFoundError(NGINX)
    cert, key, not_after = self_signed(directory)
    https_port, http_port = free_port(), free_port()
    conf = directory / "nginx.conf"
    conf.write_text(CONFIG.format(prefix=directory, http_port=http_port, https_port=https_port, cert=cert, key=key,
                                  page=PAGE))
    proc = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(https_port)
        wait_for_port(http_port)
        yield WeakSite(https_port, http_port, not_after, cert)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
