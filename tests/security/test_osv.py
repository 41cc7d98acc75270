"""OSV matching against the real PyPA advisory database and hand-written ranges."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import yaml

from eduops.security.deps import findings, scan_packages
from eduops.security.inventory import parse_requirements
from eduops.security.osv import load_database, range_affects, record_affects
from eduops.security.versions import sort_key

PYPA = Path(__file__).resolve().parents[3] / "shared" / "data" / "pypa-advisory-db" / "vulns"


@pytest.fixture(scope="module")
def pypa():
    if not PYPA.is_dir():
        pytest.skip("the PyPA advisory database is not in ../shared/data")
    return load_database([PYPA])


def expected_ids(package: str, version: str) -> set[str]:
    """Independent reading of the data files: the version in the explicit list or in an
    introduced/fixed pair, using packaging's ordering directly."""
    from packaging.version import Version

    v = Version(version)
    ids = set()
    for file in (PYPA / package).glob("*.yaml"):
        record = yaml.safe_load(file.read_text())
        for aff in record["affected"]:
            if version in [str(x) for x in aff.get("versions", [])]:
                ids.add(record["id"])
            for rng in aff.get("ranges", []):
                if rng["type"] != "ECOSYSTEM":
                    continue
                lo = None
                for ev in rng["events"]:
                    if "introduced" in ev:
                        lo = Version("0") if str(ev["introduced"]) == "0" else Version(str(ev["introduced"]))
                    elif "fixed" in ev and lo is not None:
                        if lo <= v < Version(str(ev["fixed"])):
                            ids.add(record["id"])
                        lo = None
                if lo is not None and lo <= v:
                    ids.add(record["id"])
    return ids


def test_requests_and_django_are_flagged_with_their_pysec_ids(pypa) -> None:
    packages = parse_requirements("requests==2.19.0\ndjango==3.2.0\n")
    report = scan_packages(pypa, packages)
    got = {(v.package, v.id) for v in report.vulnerabilities}
    for name, version in (("requests", "2.19.0"), ("django", "3.2.0")):
        want = expected_ids(name, version)
        assert want, f"the data lists advisories for {name} {version}"
        assert {i for n, i in got if n == name} == want
    ids = {v.id: v for v in report.vulnerabilities}
    # a few pinned by hand: CVE-2018-18074 (auth header on redirect), Django 3.2.x directory traversal
    assert ids["PYSEC-2018-28"].fixed == "2.20.0" and "CVE-2018-18074" in ids["PYSEC-2018-28"].aliases
    assert ids["PYSEC-2021-98"].fixed == "3.2.4"
    assert ids["PYSEC-2023-74"].fixed == "2.31.0"
    found = findings(report)
    by_title = {f.title.split()[0]: f for f in found}
    assert "upgrade requests to 2.31.0" in by_title["requests"].remedy
    assert "PYSEC-2018-28" in by_title["requests"].detail
    assert by_title["django"].remedy.startswith("upgrade django to 3.2.")


def test_fixed_release_is_clean(pypa) -> None:
    assert not pypa.match("PyPI", "requests", "2.32.3")
    upper, lower = pypa.match("PyPI", "Django", "3.2.0"), pypa.match("PyPI", "django", "3.2.0")
    assert [v.id for v in upper] == [v.id for v in lower]


RECORD = {
    "id": "TEST-1",
    "aliases": ["CVE-2099-1"],
    "summary": "demo",
    "affected": [
        {"package": {"ecosystem": "npm", "name": "left-pad"},
         "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.3.0"},
                                                  {"introduced": "2.0.0-beta.1"}, {"last_affected": "2.1.0"}]}]},
        {"package": {"ecosystem": "Debian:12", "name": "openssl"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]},
        {"package": {"ecosystem": "PyPI", "name": "Some_Pkg"}, "versions": ["0.9"],
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"limit": "1.5"}]}]},
    ],
}


@pytest.mark.parametrize(("ecosystem", "name", "version", "hit", "fixed"), [
    ("npm", "left-pad", "0.9.0", False, None),
    ("npm", "left-pad", "1.0.0", True, "1.3.0"),
    ("npm", "left-pad", "1.2.9", True, "1.3.0"),
    ("npm", "left-pad", "1.3.0", False, None),
    ("npm", "left-pad", "2.0.0-alpha", False, None),
    ("npm", "left-pad", "2.0.0", True, None),
    ("npm", "left-pad", "2.1.0", True, None),
    ("npm", "left-pad", "2.1.1", False, None),
    ("Debian", "openssl", "3.0.11-1~deb12u1", True, "3.0.11-1~deb12u2"),
    ("Debian", "openssl", "3.0.11-1", False, None),
    ("Debian:12", "openssl", "3.0.11-1~deb12u1", True, "3.0.11-1~deb12u2"),
    ("Debian:11", "openssl", "3.0.11-1~deb12u1", False, None),  # another release's advisory
    ("Ubuntu:22.04", "openssl", "3.0.11-1~deb12u1", False, None),
    ("PyPI", "some-pkg", "0.9", True, None),
    ("PyPI", "some.pkg", "1.4", True, None),
    ("PyPI", "some-pkg", "1.5", False, None),
    ("PyPI", "other", "1.0", False, None),
])
def test_range_evaluation(ecosystem: str, name: str, version: str, hit: bool, fixed: str | None) -> None:
    assert record_affects(RECORD, ecosystem, name, version) == (hit, fixed)


def test_events_out_of_order_are_sorted() -> None:
    events = [{"fixed": "2.0"}, {"introduced": "0"}]
    assert range_affects("PyPI", "1.0", events) == (True, "2.0")
    assert sort_key("PyPI", "2.0") > sort_key("PyPI", "1.0")


def test_zip_and_json_dumps(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("TEST-1.json", json.dumps(RECORD))
        zf.writestr("WITHDRAWN.json", json.dumps({**RECORD, "id": "W", "withdrawn": "2024-01-01T00:00:00Z"}))
    db = load_database([archive])
    assert db.count == 1
    assert [v.id for v in db.match("npm", "left-pad", "1.1.0")] == ["TEST-1"]
    assert db.match("npm", "left-pad", "1.1.0")[0].cves == ["CVE-2099-1"]
