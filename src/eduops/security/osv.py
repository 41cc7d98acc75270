"""OSV records offline: load a dump (a folder of JSON/YAML records or osv.dev's ``all.zip``) and
match package versions against their ``ECOSYSTEM``/``SEMVER`` ranges and ``versions`` lists."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eduops.errors import UsageError
from eduops.security.versions import base_ecosystem, sort_key

log = logging.getLogger(__name__)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def same_release(wanted: str, listed: str) -> bool:
    """``Debian:12`` packages match ``Debian:12`` records (and unversioned ones), not ``Debian:11``."""
    if base_ecosystem(wanted) != base_ecosystem(listed):
        return False
    w, _, wr = wanted.partition(":")
    _, _, lr = listed.partition(":")
    return not wr or not lr or wr.split(":")[0] == lr.split(":")[0]


def normalize_name(ecosystem: str, name: str) -> str:
    """PEP 503 names for PyPI; npm and Debian names compare case-insensitively here."""
    if base_ecosystem(ecosystem) == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name.strip().lower()


@dataclass(frozen=True)
class Vulnerability:
    """One advisory that affects one installed package version."""

    id: str
    package: str
    ecosystem: str
    version: str
    summary: str
    aliases: tuple[str, ...] = ()
    severity: str = ""  # CVSS vector or a database's LOW/MODERATE/HIGH/CRITICAL
    fixed: str | None = None  # the first version that is not affected, when there is one
    source: str = ""

    @property
    def cves(self) -> list[str]:
        return [a for a in self.aliases if a.startswith("CVE-")]


@dataclass
class OsvDatabase:
    """Advisories indexed by (ecosystem family, normalized package name)."""

    by_package: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0

    def add(self, record: dict[str, Any]) -> None:
        if not isinstance(record, dict) or "id" not in record:
            raise UsageError("an OSV record needs an 'id'")
        if record.get("withdrawn"):
            return
        self.count += 1
        seen: set[tuple[str, str]] = set()
        for affected in record.get("affected") or []:
            pkg = affected.get("package") or {}
            if not pkg.get("name") or not pkg.get("ecosystem"):
                continue
            key = (base_ecosystem(pkg["ecosystem"]), normalize_name(pkg["ecosystem"], pkg["name"]))
            if key not in seen:
                seen.add(key)
                self.by_package[key].append(record)

    def advisories(self, ecosystem: str, name: str) -> list[dict[str, Any]]:
        return self.by_package.get((base_ecosystem(ecosystem), normalize_name(ecosystem, name)), [])

    def match(self, ecosystem: str, name: str, version: str, source: str = "") -> list[Vulnerability]:
        """Every advisory that lists this exact package version as affected."""
        found = []
        for record in self.advisories(ecosystem, name):
            hit, fixed = record_affects(record, ecosystem, name, version)
            if hit:
                found.append(_vulnerability(record, ecosystem, name, version, fixed, source))
        return sorted(found, key=lambda v: v.id)


def _vulnerability(record: dict[str, Any], ecosystem: str, name: str, version: str, fixed: str | None,
                   source: str) -> Vulnerability:
    summary = record.get("summary") or (record.get("details") or "").strip().split("\n")[0]
    if len(summary) > 300:
        summary = summary[:297] + "…"
    return Vulnerability(id=record["id"], package=name, ecosystem=ecosystem, version=version, summary=summary,
                         aliases=tuple(record.get("aliases") or ()), severity=severity_of(record), fixed=fixed,
                         source=source)


def severity_of(record: dict[str, Any]) -> str:
    specific = record.get("database_specific") or {}
    if isinstance(specific, dict) and specific.get("severity"):
        return str(specific["severity"]).upper()
    for entry in record.get("severity") or []:
        if entry.get("score"):
            return str(entry["score"])
    return ""


def range_affects(ecosystem: str, version: str, events: list[dict[str, Any]]) -> tuple[bool, str | None]:
    """Evaluate one OSV range for ``version``: (affected, first fixed version above it).

    Follows the OSV schema's evaluation: events in version order; ``introduced`` opens, ``fixed``
    closes (exclusive), ``last_affected`` closes (inclusive); ``limit`` caps the range.
    """
    target = sort_key(ecosystem, version)

    def key(value: str) -> Any:
        return None if value == "0" else sort_key(ecosystem, value)

    parsed: list[tuple[str, str, Any]] = []
    for event in events:
        for kind, value in event.items():
            value = str(value)
            try:
                parsed.append((kind, value, key(value)))
            except UsageError:
                log.debug("skipping unparsable %s version %r", ecosystem, value)
    limits = [k for kind, _, k in parsed if kind == "limit" and k is not None]
    if limits and any(not target < k for k in limits):
        return False, None
    ordered = sorted((p for p in parsed if p[0] != "limit"),
                     key=lambda p: (p[2] is not None, p[2]) if p[2] is not None else (False, 0))
    affected = False
    for kind, _, k in ordered:
        if kind == "introduced" and (k is None or not target < k):
            affected = True
        elif kind == "fixed" and k is not None and not target < k:
            affected = False
        elif kind == "last_affected" and k is not None and k < target:
            affected = False
    if not affected:
        return False, None
    fixes = [(k, v) for kind, v, k in ordered if kind == "fixed" and k is not None and target < k]
    return True, (min(fixes, key=lambda f: f[0])[1] if fixes else None)


def record_affects(record: dict[str, Any], ecosystem: str, name: str, version: str) -> tuple[bool, str | None]:
    """Whether ``record`` affects ``name`` at ``version``, and the first fixed version if known."""
    wanted = normalize_name(ecosystem, name)
    hit, fixed_versions = False, []
    for affected in record.get("affected") or []:
        pkg = affected.get("package") or {}
        if not same_release(ecosystem, str(pkg.get("ecosystem", ""))):
            continue
        if normalize_name(ecosystem, str(pkg.get("name", ""))) != wanted:
            continue
        try:
            sort_key(ecosystem, version)
        except UsageError:
            return version in {str(v) for v in affected.get("versions") or []}, None
        if version in {str(v) for v in affected.get("versions") or []}:
            hit = True
        for rng in affected.get("ranges") or []:
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            in_range, fixed = range_affects(ecosystem, version, rng.get("events") or [])
            if in_range:
                hit = True
            if fixed:
                fixed_versions.append(fixed)
        if hit and not fixed_versions:
            # ranges may list the fix even when the explicit versions list decided the match
            for rng in affected.get("ranges") or []:
                for event in rng.get("events") or []:
                    if "fixed" in event:
                        try:
                            if sort_key(ecosystem, version) < sort_key(ecosystem, str(event["fixed"])):
                                fixed_versions.append(str(event["fixed"]))
                        except UsageError:
                            continue
    if not hit:
        return False, None
    first = min(fixed_versions, key=lambda v: sort_key(ecosystem, v)) if fixed_versions else None
    return True, first


def _records_in_file(name: str, data: bytes) -> Iterator[dict[str, Any]]:
    if name.endswith(".json"):
        parsed = json.loads(data)
    elif name.endswith((".yaml", ".yml")):
        parsed = yaml.load(data, Loader=_Loader)  # noqa: S506 - CSafeLoader/SafeLoader only
    else:
        return
    if isinstance(parsed, list):
        yield from parsed
    elif isinstance(parsed, dict):
        yield parsed


def iter_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, record) for every OSV record under ``path`` (folder, .zip, or single file)."""
    if not path.exists():
        raise UsageError(f"{path}: no OSV database there; set [security] osv_path to a folder or all.zip")
    if path.is_file() and path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield from ((info.filename, r) for r in _records_in_file(info.filename, archive.read(info)))
        return
    files: Iterable[Path] = [path] if path.is_file() else sorted(path.rglob("*"))
    for file in files:
        if file.is_file() and file.suffix in (".json", ".yaml", ".yml"):
            yield from ((str(file), r) for r in _records_in_file(file.name, file.read_bytes()))


def load_database(paths: Iterable[Path]) -> OsvDatabase:
    """Read every record; a malformed record names its file and is skipped, never fatal."""
    db = OsvDatabase()
    for path in paths:
        for source, record in _safe_records(path):
            try:
                db.add(record)
            except UsageError as exc:
                log.warning("%s: %s", source, exc.message)
    return db


def _safe_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        yield from iter_records(path)
    except (yaml.YAMLError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{path}: not a readable OSV dump ({exc})") from None
