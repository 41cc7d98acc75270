"""Package inventories: each parser on a small real-shaped file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eduops.errors import UsageError
from eduops.security.inventory import (
    Package,
    installed_python,
    parse_dpkg_list,
    parse_package_lock,
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_requirements,
    parse_uv_lock,
    read_inventory,
)


@pytest.mark.parametrize(("line", "name", "version"), [
    ("requests==2.19.0", "requests", "2.19.0"),
    ("Django === 3.2.0 ; python_version >= '3.8'", "Django", "3.2.0"),
    ("uvicorn[standard]==0.30.1  # web", "uvicorn", "0.30.1"),
    ("flask>=2.0", "flask", None),
    ("numpy", "numpy", None),
])
def test_requirement_lines(line: str, name: str, version: str | None) -> None:
    assert parse_requirements(line) == [Package(name, version, "PyPI", "requirements.txt")]


def test_requirements_skip_options_and_follow_includes(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("requests==2.19.0\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\n--index-url https://pypi.org/simple\n-e .\n"
                                               "django==3.2.0\n# comment\n")
    names = [(p.name, p.version) for p in read_inventory(tmp_path / "requirements.txt")]
    assert names == [("requests", "2.19.0"), ("django", "3.2.0")]


LOCKS = {
    "poetry.lock": ('[[package]]\nname = "requests"\nversion = "2.19.0"\n\n[[package]]\nname = "idna"\n'
                    'version = "2.7"\n', parse_poetry_lock, [("requests", "2.19.0"), ("idna", "2.7")]),
    "uv.lock": ('version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { editable = "." }\n\n'
                '[[package]]\nname = "django"\nversion = "3.2.0"\nsource = { registry = "https://pypi.org/simple" }\n',
                parse_uv_lock, [("django", "3.2.0")]),
    "Pipfile.lock": (json.dumps({"default": {"requests": {"version": "==2.19.0"}},
                                 "develop": {"pytest": {"version": "==8.0.0"}}}),
                     parse_pipfile_lock, [("requests", "2.19.0"), ("pytest", "8.0.0")]),
    "package-lock.json": (json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "web"}, "node_modules/lodash": {"version": "4.17.20"},
        "node_modules/a/node_modules/minimist": {"version": "1.2.0"}}}),
        parse_package_lock, [("lodash", "4.17.20"), ("minimist", "1.2.0")]),
    "package-lock-v1.json": (json.dumps({"lockfileVersion": 1, "dependencies": {
        "express": {"version": "4.17.1", "dependencies": {"qs": {"version": "6.7.0"}}}}}),
        parse_package_lock, [("express", "4.17.1"), ("qs", "6.7.0")]),
}


@pytest.mark.parametrize("name", list(LOCKS))
def test_lock_files(name: str) -> None:
    text, parser, expected = LOCKS[name]
    assert [(p.name, p.version) for p in parser(text)] == expected


def test_dpkg_list() -> None:
    text = ("Desired=Unknown/Install/Remove/Purge/Hold\n||/ Name   Version   Architecture Description\n"
            "+++-======\nii  openssl  3.0.11-1~deb12u2 amd64  Secure Sockets Layer toolkit\n"
            "rc  oldpkg   1.0-1  amd64  removed\nii  libc6:amd64  2.36-9+deb12u4 amd64 GNU C Library\n")
    assert [(p.name, p.version, p.ecosystem) for p in parse_dpkg_list(text)] == [
        ("openssl", "3.0.11-1~deb12u2", "Debian"), ("libc6", "2.36-9+deb12u4", "Debian")]


@pytest.mark.parametrize(("text", "ecosystem"), [
    ('ID=debian\nVERSION_ID="12"\n', "Debian:12"), ('ID=ubuntu\nVERSION_ID="22.04"\n', "Ubuntu:22.04"),
    ("ID=debian\n", "Debian"),
])
def test_os_ecosystem(text: str, ecosystem: str) -> None:
    from eduops.security.inventory import os_ecosystem

    assert os_ecosystem(text) == ecosystem


def test_installed_environment_and_bad_files(tmp_path: Path) -> None:
    assert any(p.name.lower() == "sslyze" for p in installed_python())
    bad = tmp_path / "poetry.lock"
    bad.write_text("[[package\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        read_inventory(bad)
    with pytest.raises(UsageError, match="unknown dependency file"):
        read_inventory(tmp_path.joinpath("x.cfg").resolve() if tmp_path.joinpath("x.cfg").write_text("") == 0 else bad)


def test_this_hosts_packages_and_updates() -> None:
    """The real dpkg and apt of this machine, parsed (skipped where there is no Debian tooling)."""
    import shutil

    from eduops.security.inventory import installed_debian
    from eduops.security.patches import pending_updates

    if not shutil.which("dpkg") or not shutil.which("apt"):
        pytest.skip("no dpkg/apt on this host")
    packages = installed_debian()
    assert any(p.name == "dpkg" for p in packages) and all(p.ecosystem.startswith(("Debian", "Ubuntu"))
                                                           for p in packages)
    updates = pending_updates()
    assert all(u.new_version and u.current_version for u in updates)
