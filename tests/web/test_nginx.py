"""The nginx example in docs/deploy/nginx-eduops.conf, as written, in front of a real `eduops serve`
(Debian's nginx, run by the test on free ports): HTTP/2 over TLS, http → https, the real client address in
eduops's audit rows, Secure cookies, and eduops's own 413 message for bodies over its limits."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.conftest import make_settings
from tests.security.weak_nginx import NGINX, free_port, self_signed, wait_for_port
from tests.web.serving import eduops_json, running_server

from eduops.core.models import AuditEntry
from eduops.core.workspace import Workspace
from eduops.db import make_engine

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-eduops.conf"
CLIENT = "127.0.0.2"  # the test's requests come from here (all of 127/8 is loopback); nginx from 127.0.0.1

MAIN = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  include {site};
}}
"""


def render(example: str, upstream: str, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """The example with this test's ports, certificate and upstream; nothing else changes."""
    site = example.replace("127.0.0.1:8080", upstream)
    site = re.sub(r"^\s*listen \[::\]:.*\n", "", site, flags=re.MULTILINE)  # IPv6 may be off here
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("/etc/letsencrypt/live/eduops.example.edu/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/eduops.example.edu/privkey.pem", str(key))
    assert site.count(str(cert)) == 1 and f"127.0.0.1:{https_port}" in site and upstream in site
    return site


@contextmanager
def nginx_in_front(directory: Path, upstream: str) -> Iterator[tuple[int, int]]:
    cert, key, _ = self_signed(directory, days=30)
    http_port, https_port = free_port(), free_port()
    site = directory / "eduops.conf"
    site.write_text(render(EXAMPLE.read_text(), upstream, http_port, https_port, cert, key))
    conf = directory / "nginx.conf"
    conf.write_text(MAIN.format(prefix=directory, site=site))
    test = subprocess.run([NGINX, "-t", "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                          capture_output=True, text=True, timeout=60)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(https_port, deadline_s=30)
        yield http_port, https_port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def client() -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT, verify=False), verify=False,
                        timeout=120, follow_redirects=False, trust_env=False)


@pytest.fixture(scope="module")
def stack(sqlite_template: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, int, int, dict]]:
    """One eduops behind one nginx for the module (starting them is most of the time these tests take)."""
    if not Path(NGINX).exists() or shutil.which("curl") is None:
        pytest.skip("nginx or curl is not installed (scripts/debian-packages.txt lists both)")
    tmp_path = tmp_path_factory.mktemp("behind-nginx")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sqlite_template, home / "eduops.db")
    settings = make_settings(home)
    ws = Workspace(settings, make_engine(settings.state_url))
    key = eduops_json(home, "keys", "create", "--scope", "ingest:rtc")
    with running_server(home, "--no-scheduler", EDUOPS_TRUSTED_PROXIES="127.0.0.1",
                        EDUOPS_BASE_URL="https://eduops.example.edu") as server:
        upstream = server.url.removeprefix("http://")
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        with nginx_in_front(nginx_dir, upstream) as (http_port, https_port):
            yield ws, http_port, https_port, key


def test_http2_tls_redirect_and_secure_cookies(stack) -> None:
    _ws, http_port, https_port, _key = stack
    curl = subprocess.run(["curl", "-sk", "--http2", "--interface", CLIENT, "-o", "/dev/null", "-D", "-",
                           "-w", "%{http_version}", f"https://localhost:{https_port}/login"],
                          capture_output=True, text=True, timeout=120)
    assert curl.returncode == 0, curl.stderr
    assert curl.stdout.rstrip().endswith("2"), curl.stdout  # HTTP/2 to nginx
    cookies = [line for line in curl.stdout.splitlines() if line.lower().startswith("set-cookie")]
    assert cookies and all("Secure" in c for c in cookies), cookies
    with client() as http:
        moved = http.get(f"http://localhost:{http_port}/login?next=/runs")
        assert moved.status_code == 301 and moved.headers["location"].startswith("https://localhost/login?next=")


def test_audit_rows_name_the_client_behind_nginx_not_nginx_or_a_forged_header(stack) -> None:
    ws, _http_port, https_port, _key = stack
    base = f"https://localhost:{https_port}"
    with client() as http:
        form = http.get(f"{base}/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        refused = http.post(f"{base}/login", headers={"x-forwarded-for": "198.51.100.66"},
                            data={"username": "nobody-here", "password": "wrong-password-guess",
                                  "csrf_token": token, "next": "/"})
        assert refused.status_code == 401, refused.text[:500]
    with ws.engine.connect() as conn:
        ips = list(conn.execute(sa.select(AuditEntry.source_ip).where(AuditEntry.action.startswith("login"))).scalars())
    assert ips == [CLIENT]


def test_bodies_over_eduops_limits_get_eduops_message_through_nginx(stack) -> None:
    _ws, _http_port, https_port, key = stack
    body = b"[" + b" " * (32 * 1024 * 1024 + 1024) + b"]"  # just over eduops's 32 MiB per call-quality batch
    with client() as http:
        small = http.post(f"https://localhost:{https_port}/api/v1/rtc/reports",
                          headers={"authorization": f"Bearer {key['key']}"}, content=json.dumps(
                              [{"type": "call", "call_id": "n1", "scenario": "one_on_one", "channel": "r",
                                "start": "2026-11-30T10:00:00Z"}]))
        assert small.status_code == 200, small.text[:500]
        big = http.post(f"https://localhost:{https_port}/api/v1/rtc/reports",
                        headers={"authorization": f"Bearer {key['key']}", "content-type": "application/json"},
                        content=body)
    assert big.status_code == 413
    assert "send at most" in big.json()["error"]  # eduops's JSON message, not nginx's HTML page
