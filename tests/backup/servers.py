"""Real servers for the backup tests: OpenSSH's sshd (SFTP) and an S3 server, on 127.0.0.1 ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

S3_SERVER_CANDIDATES = (
    os.environ.get("EDUOPS_S3_SERVER", ""),
    "/opt/eduops/s3-server/bin/moto_server",
    shutil.which("moto_server") or "",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {deadline_s} s")


@dataclass
class Sftp:
    port: int
    user: str
    identity_file: Path
    known_hosts_file: Path
    root: Path
    proc: subprocess.Popen[bytes]


def start_sftp(base: Path) -> Sftp:
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    host_key, client_key = base / "host_ed25519", base / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = base / "authorized_keys"
    shutil.copy(client_key.with_suffix(".pub"), authorized)
    os.chmod(authorized, 0o600)
    port = free_port()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} " + host_key.with_suffix(".pub").read_text())
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {base / 'sshd.pid'}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "PermitRootLogin prohibit-password",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    root = base / "storage"
    root.mkdir()
    import getpass

    return Sftp(port, getpass.getuser(), client_key, base / "known_hosts", root, proc)


@dataclass
class S3:
    endpoint: str
    proc: subprocess.Popen[bytes]


def s3_server_binary() -> str | None:
    return next((c for c in S3_SERVER_CANDIDATES if c and os.path.exists(c)), None)


def start_s3(base: Path) -> S3:
    binary = s3_server_binary()
    if binary is None:
        raise FileNotFoundError("no S3 server: run scripts/system-deps.d/backup.sh")
    port = free_port()
    log = (base / "s3.log").open("wb")
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    wait_port(port, proc)
    return S3(f"http://127.0.0.1:{port}", proc)
