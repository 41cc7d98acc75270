"""What is installed: package lists from requirements files, lock files, the Python environment
and ``dpkg -l``. Each parser is a pure function from text to packages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from eduops.errors import ServiceUnavailable, UsageError


@dataclass(frozen=True)
class Package:
    name: str
    version: str | None  # None: not pinned, so no exact version can be checked
    ecosystem: str  # PyPI | npm | Debian
    source: str = ""


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def parse_requirements(text: str, source: str = "requirements.txt", base: Path | None = None,
                       _seen: frozenset[Path] = frozenset()) -> list[Package]:
    """pip requirement lines; ``==``/``===`` pins give a version, other specifiers do not; ``-r`` is followed."""
    packages: list[Package] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            if base is not None:
                target = (base / line.split(None, 1)[1].strip()).resolve()
                if target not in _seen and target.exists():
                    packages += parse_requirements(target.read_text(), str(target), target.parent, _seen | {target})
            continue
        if line.startswith("-") or "://" in line.split(";")[0] and "@" in line:
            continue  # options, editable installs and direct URLs carry no index version
        spec = line.split(";", 1)[0].strip()
        match = _REQ.match(spec)
        if not match:
            raise UsageError(f"{source}: cannot read requirement line {raw.strip()!r}")
        name, _, rest = match.groups()
        pin = re.fullmatch(r"===?\s*([^\s,]+)", rest.strip())
        packages.append(Package(name, pin.group(1) if pin else None, "PyPI", source))
    return packages


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML ({exc})") from None


def parse_poetry_lock(text: str, source: str = "poetry.lock") -> list[Package]:
    return [Package(p["name"], str(p["version"]), "PyPI", source)
            for p in _toml(text, source).get("package", []) if "name" in p and "version" in p]


def parse_uv_lock(text: str, source: str = "uv.lock") -> list[Package]:
    packages = []
    for p in _toml(text, source).get("package", []):
        src = p.get("source") or {}
        if "name" not in p or "version" not in p or "editable" in src or "virtual" in src:
            continue  # the project itself is not from an index
        packages.append(Package(p["name"], str(p["version"]), "PyPI", source))
    return packages


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not valid JSON ({exc})") from None


def parse_pipfile_lock(text: str, source: str = "Pipfile.lock") -> list[Package]:
    data = _json(text, source)
    packages = []
    for section in ("default", "develop"):
        for name, info in (data.get(section) or {}).items():
            version = str(info.get("version", "")) if isinstance(info, dict) else ""
            packages.append(Package(name, version.lstrip("=") or None, "PyPI", source))
    return packages


def parse_package_lock(text: str, source: str = "package-lock.json") -> list[Package]:
    """npm lockfile v1 (nested ``dependencies``) and v2/v3 (flat ``packages``)."""
    data = _json(text, source)
    found: dict[tuple[str, str], Package] = {}
    for path, info in (data.get("packages") or {}).items():
        if not path or "node_modules/" not in path or not isinstance(info, dict) or info.get("link"):
            continue
        name = info.get("name") or path.rsplit("node_modules/", 1)[1]
        if info.get("version"):
            found[(name, info["version"])] = Package(name, info["version"], "npm", source)

    def walk(deps: dict[str, Any]) -> None:
        for name, info in deps.items():
            if isinstance(info, dict) and info.get("version") and not str(info["version"]).startswith(("file:", "git")):
                found[(name, info["version"])] = Package(name, info["version"], "npm", source)
                walk(info.get("dependencies") or {})

    if not data.get("packages"):
        walk(data.get("dependencies") or {})
    return sorted(found.values(), key=lambda p: (p.name, p.version or ""))


def parse_dpkg_list(text: str, source: str = "dpkg -l", ecosystem: str = "Debian") -> list[Package]:
    """Installed packages (state ``ii``) from ``dpkg -l`` output; ``name:arch`` loses its arch."""
    packages = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "ii":
            packages.append(Package(parts[1].split(":", 1)[0], parts[2], ecosystem, source))
    return packages


def os_ecosystem(os_release: str) -> str:
    """The OSV ecosystem of this host from /etc/os-release: ``Debian:12``, ``Ubuntu:22.04``."""
    fields = dict(line.split("=", 1) for line in os_release.splitlines() if "=" in line)
    distro = fields.get("ID", "").strip('"').lower()
    release = fields.get("VERSION_ID", "").strip('"')
    family = {"debian": "Debian", "ubuntu": "Ubuntu"}.get(distro, "Debian")
    return f"{family}:{release}" if release else family


def installed_python(path: list[str] | None = None) -> list[Package]:
    """Distributions in this Python environment (or on ``path``)."""
    seen: dict[str, Package] = {}
    dists = metadata.distributions(path=path) if path else metadata.distributions()
    for dist in dists:
        name = dist.metadata["Name"]
        if name and name not in seen:
            seen[name] = Package(name, dist.version, "PyPI", "installed")
    return sorted(seen.values(), key=lambda p: p.name.lower())


def installed_debian() -> list[Package]:
    if not shutil.which("dpkg"):
        raise ServiceUnavailable("dpkg is not available on this host")
    done = subprocess.run(["dpkg", "-l"], capture_output=True, text=True, timeout=60,
                          env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        raise ServiceUnavailable(f"dpkg -l failed: {done.stderr.strip()[:200]}")
    try:
        ecosystem = os_ecosystem(Path("/etc/os-release").read_text())
    except OSError:
        ecosystem = "Debian"
    return parse_dpkg_list(done.stdout, ecosystem=ecosystem)


PARSERS = {
    "poetry.lock": parse_poetry_lock,
    "uv.lock": parse_uv_lock,
    "Pipfile.lock": parse_pipfile_lock,
    "package-lock.json": parse_package_lock,
}


def read_inventory(path: Path) -> list[Package]:
    """Packages from one file, chosen by its name (``*.txt``/``*.in`` are requirements files)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such dependency file")
    text = path.read_text(encoding="utf-8", errors="replace")
    parser = PARSERS.get(path.name)
    if parser:
        return parser(text, str(path))
    if path.suffix in (".txt", ".in") or "requirements" in path.name:
        return parse_requirements(text, str(path), path.parent, frozenset({path.resolve()}))
    raise UsageError(f"{path}: unknown dependency file; use requirements*.txt, {', '.join(PARSERS)}")
