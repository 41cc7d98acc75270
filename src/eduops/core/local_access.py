"""The running server's local credential: how a CLI command on the same workspace reaches `eduops serve`.

DuckDB lets one process open a file, and a running server holds the event store (``events.duckdb``)
for as long as it runs (a read-only open or ``ATTACH ... (READ_ONLY)`` from another process fails with
the same lock error). So ``eduops serve`` writes ``<home>/run/server.json`` (mode 0600, created so that
no other user can ever read it) with its local URL, its process id and a random token, and removes it
when it stops. A CLI command that finds a store locked reads that file and asks the server instead,
sending ``Authorization: Bearer edul_<token>``. The token is as powerful as the workspace's
``secret.key`` and protected the same way: only the user the server runs as can read it.

A credential can outlive its server (killed with SIGKILL, a crash, a reboot) and its pid can be reused by
another program. So before a command sends anything there, ``running_server`` decides (``verdict``, a pure
function): a process that is gone or is not eduops means a stale file (removed; the command opens the
stores itself); an eduops process is asked ``GET /api/v1/local/ping`` with the token and a short timeout,
and only a server that answers with its pid is used. The CLI also says which OS user runs it
(``X-Eduops-Cli-User``); the server believes that only with the local token and names that user in the
audit log (``local:cli:<user>``).

With ``[web] workers`` above 1 (``eduops.web.workers``) the first worker holds the stores and answers on a
private loopback port (the URL in the credential); every other worker reaches them through it the way a CLI
command does: ``serve_through`` makes ``running_server`` name that worker without asking the file.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from eduops import errors
from eduops.errors import EduopsError, ServiceUnavailable

TOKEN_PREFIX = "edul_"
serving_here = False  # set by `eduops serve`: this process holds the stores; it never asks itself
_through: Credential | None = None  # set in a serving worker other than the first: the one holding the stores
CREDENTIAL_NAME = "server.json"
PING_PATH = "/api/v1/local/ping"
PING_TIMEOUT_S = 5.0  # long enough for a busy server, short enough for a hung one
USER_HEADER = "x-eduops-cli-user"
WORKER_ACTOR = "local:worker"  # a serving worker reaching the stores through the first one (not a person)
_USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
# verdicts on a credential file
SERVER = "server"  # a running eduops server answered: ask it
DIRECT = "direct"  # an eduops process that does not answer: open the stores here, keep the file
STALE = "stale"  # its process is gone or is another program: open the stores here, remove the file
ASK = "ask"  # an eduops process (or one we cannot look at): ping it, then decide again


def credential_path(home: Path) -> Path:
    return home / "run" / CREDENTIAL_NAME


def local_url(host: str, port: int) -> str:
    """The URL a process on this machine reaches a server bound to ``host``:``port`` at."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class Credential:
    url: str
    pid: int
    token: str
    started_at: str

    @property
    def header(self) -> str:
        return f"Bearer {TOKEN_PREFIX}{self.token}"


def write_credential(home: Path, url: str) -> Credential:
    """Write a fresh credential for the server of this process (mode 0600 from the start; atomic)."""
    global serving_here
    serving_here = True
    cred = Credential(url=url, pid=os.getpid(), token=secrets.token_urlsafe(32),
                      started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    folder = credential_path(home).parent
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    tmp = folder / f".{CREDENTIAL_NAME}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, json.dumps(cred.__dict__).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, credential_path(home))
    return cred


def remove_credential(home: Path, cred: Credential) -> None:
    """Remove the credential if it is still this server's (another server may have replaced it)."""
    found = read_credential(home, check_alive=False)
    if found is not None and found.token == cred.token:
        credential_path(home).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def program_of(pid: int) -> str | None:
    """The command line of process ``pid`` ("" when it is gone), or None when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def verdict(alive: bool, program: str | None, answered: bool | None) -> str:
    """What a CLI command does with a credential file whose process is ``alive`` and runs ``program`` (its
    command line; None when it cannot be read), after the server ``answered`` the ping (None: not asked)."""
    if not alive or program == "":
        return STALE
    if program is not None and "eduops" not in program:
        return STALE  # the pid was reused by another program
    if answered is None:
        return ASK
    return SERVER if answered else DIRECT


def ping(cred: Credential, timeout_s: float = PING_TIMEOUT_S) -> bool:
    """Whether the server at ``cred.url`` answers the local ping with this token and ``cred.pid``."""
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False) as http:
            answer = http.get(cred.url + PING_PATH, headers={"authorization": cred.header})
        return answer.status_code == 200 and answer.json().get("pid") == cred.pid
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


_answered: dict[str, bool] = {}  # token → whether its server answered (asked once per process)


def server_process(home: Path) -> tuple[Credential, str | None] | None:
    """The credential whose process is alive and may be eduops (its command line: None when unreadable),
    not yet asked; None when there is none. A stale file is removed."""
    cred = read_credential(home, check_alive=False)
    if cred is None or cred.pid == os.getpid():
        return None
    alive = _alive(cred.pid)
    program = program_of(cred.pid) if alive else ""
    if verdict(alive, program, None) == STALE:
        remove_credential(home, cred)
        return None
    return cred, program


def serve_through(cred: Credential) -> None:
    """This process is a serving worker that does not hold the stores: reach them at ``cred`` (the first
    worker, which is starting or running: no ping, no stale-file verdict)."""
    global serving_here, _through
    serving_here, _through = False, cred


def holds_stores() -> bool:
    """Whether this process may open the workspace's DuckDB stores and run its once-per-server work (every
    process but a serving worker that reaches them through the first one)."""
    return _through is None


def running_server(home: Path) -> Credential | None:
    """The credential of the eduops server running on this workspace, verified by a ping; None when there
    is none or it does not answer (then the caller opens the stores itself). A stale file is removed."""
    if _through is not None:
        return _through
    found = None if serving_here else server_process(home)
    if found is None:
        return None
    cred, program = found
    if cred.token not in _answered:
        _answered[cred.token] = ping(cred)
    return cred if verdict(True, program, _answered[cred.token]) == SERVER else None


def cli_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def local_actor(user_header: str | None) -> str:
    """The audit actor of a request with the local token: ``local:cli:<OS user>`` when the CLI named a
    plausible user name, ``local:worker`` for a serving worker, else ``local:cli``."""
    if user_header == WORKER_ACTOR:
        return WORKER_ACTOR
    if user_header and _USER_NAME.fullmatch(user_header):
        return f"local:cli:{user_header}"
    return "local:cli"


def read_credential(home: Path, check_alive: bool = True) -> Credential | None:
    """The running server's credential, or None (no file, unreadable, or its process is gone)."""
    path = credential_path(home)
    try:
        data = json.loads(path.read_text())
        cred = Credential(url=str(data["url"]), pid=int(data["pid"]), token=str(data["token"]),
                          started_at=str(data.get("started_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_alive and not _alive(cred.pid):
        return None
    return cred


def token_matches(header: str | None, expected: str | None) -> bool:
    """Whether an Authorization header carries the local token ``expected``."""
    if not header or not expected:
        return False
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(TOKEN_PREFIX):
        return False
    return secrets.compare_digest(value[len(TOKEN_PREFIX):].encode(), expected.encode())


class LocalClient:
    """HTTP calls to the workspace's running server with its local credential."""

    def __init__(self, cred: Credential, timeout_s: float = 300.0) -> None:
        self.cred = cred
        headers = {"authorization": cred.header}
        if _through is not None:
            headers[USER_HEADER] = WORKER_ACTOR  # what the request passes on was audited by the worker
        elif user := cli_user():
            headers[USER_HEADER] = user
        self._http = httpx.Client(base_url=cred.url, timeout=timeout_s, headers=headers, trust_env=False)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the running eduops server (pid {self.cred.pid}, {self.cred.url}) holds "
                                     f"this workspace's store but did not answer: {exc}") from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def get_json(self, path: str, params: Any = None) -> Any:
        return self.request("GET", path, params=params).json()

    def close(self) -> None:
        self._http.close()


def _error_from(response: httpx.Response) -> EduopsError:
    """The server's JSON error as the same eduops error type (same exit code as running it here)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = (body.get("error") if isinstance(body, dict) else None) or response.text[:500] or response.reason_phrase
    kind = _BY_STATUS.get(response.status_code, ServiceUnavailable if response.status_code >= 500 else EduopsError)
    return kind(str(message))


_BY_STATUS: dict[int, type[EduopsError]] = {
    400: errors.UsageError, 401: errors.Unauthenticated, 403: errors.PermissionDenied, 404: errors.NotFound,
    409: errors.Conflict, 413: errors.PayloadTooLarge, 422: errors.ValidationFailed,
}


def server_client(home: Path) -> LocalClient | None:
    """A client for the server running on this workspace, or None when none is running."""
    cred = running_server(home)
    return LocalClient(cred) if cred else None
