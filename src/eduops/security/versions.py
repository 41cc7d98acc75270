"""Version orderings of the ecosystems OSV ranges speak about: PEP 440, npm semver and dpkg.

``sort_key(ecosystem, version)`` returns something comparable; ``compare`` is built on it. A version
the ecosystem cannot parse raises ``UsageError`` so a matcher can skip it instead of guessing.
"""

from __future__ import annotations

import re
from functools import cmp_to_key
from typing import Any

from packaging.version import InvalidVersion, Version

from eduops.errors import UsageError

# --- PEP 440 -------------------------------------------------------------------------------------


def pep440_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a PEP 440 version") from None


# --- npm semver (semver.org 2.0.0 precedence) ---------------------------------------------------

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


class _Prerelease:
    """A pre-release tag list ordered by semver rule 11; no tag sorts after any tag."""

    def __init__(self, parts: tuple[str, ...] | None) -> None:
        self.parts = parts

    def _cmp(self, other: _Prerelease) -> int:
        if self.parts == other.parts:
            return 0
        if self.parts is None:
            return 1
        if other.parts is None:
            return -1
        for a, b in zip(self.parts, other.parts, strict=False):
            if a == b:
                continue
            a_num, b_num = a.isdigit(), b.isdigit()
            if a_num and b_num:
                return -1 if int(a) < int(b) else 1
            if a_num != b_num:
                return -1 if a_num else 1
            return -1 if a < b else 1
        return -1 if len(self.parts) < len(other.parts) else 1

    def __lt__(self, other: _Prerelease) -> bool:
        return self._cmp(other) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Prerelease) and self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash(self.parts)


def semver_key(version: str) -> tuple[int, int, int, _Prerelease]:
    match = _SEMVER.match(version.strip())
    if not match:
        raise UsageError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), _Prerelease(tuple(pre.split(".")) if pre else None)


# --- dpkg (Debian Policy 5.6.12) -----------------------------------------------------------------


def _dpkg_order(ch: str) -> int:
    if ch == "~":
        return -1
    if ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _dpkg_part(a: str, b: str) -> int:
    """Compare an upstream version or Debian revision by the dpkg algorithm."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) else 0
            bc = _dpkg_order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


_DPKG = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$")


def _dpkg_split(version: str) -> tuple[int, str, str]:
    match = _DPKG.match(version.strip())
    if not match:
        raise UsageError(f"{version!r} is not a Debian version ([epoch:]upstream[-revision])")
    epoch, upstream, revision = match.groups()
    return int(epoch or 0), upstream, revision or "0"


def dpkg_compare(a: str, b: str) -> int:
    ea, ua, ra = _dpkg_split(a)
    eb, ub, rb = _dpkg_split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _dpkg_part(ua, ub) or _dpkg_part(ra, rb)


_dpkg_cmp_key = cmp_to_key(dpkg_compare)


def dpkg_key(version: str) -> Any:
    _dpkg_split(version)  # validate early
    return _dpkg_cmp_key(version)


# --- dispatch ------------------------------------------------------------------------------------

KEYS = {"PyPI": pep440_key, "npm": semver_key, "Debian": dpkg_key}


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` → ``Debian``, ``Ubuntu:22.04:LTS`` → ``Ubuntu``; other names stay as they are."""
    return ecosystem.split(":", 1)[0]


def ordering_of(ecosystem: str) -> str:
    """Which version ordering an ecosystem uses: Ubuntu packages order like Debian's."""
    family = base_ecosystem(ecosystem)
    return "Debian" if family == "Ubuntu" else family


def sort_key(ecosystem: str, version: str) -> Any:
    try:
        key = KEYS[ordering_of(ecosystem)]
    except KeyError:
        raise UsageError(f"no version ordering for ecosystem {ecosystem!r}; one of {', '.join(KEYS)}") from None
    return key(version)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b`` in ``ecosystem``."""
    ka, kb = sort_key(ecosystem, a), sort_key(ecosystem, b)
    return -1 if ka < kb else 1 if kb < ka else 0
