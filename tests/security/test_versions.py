import pytest

from eduops.errors import UsageError
from eduops.security.versions import compare


@pytest.mark.parametrize(("ecosystem", "a", "b", "expected"), [
    ("PyPI", "2.19.0", "2.20.0", -1),
    ("PyPI", "3.2", "3.2.0", 0),
    ("PyPI", "1.0rc1", "1.0", -1),
    ("PyPI", "1.0.post1", "1.0", 1),
    ("PyPI", "1.10", "1.9", 1),
    ("npm", "1.0.0-alpha", "1.0.0", -1),
    ("npm", "1.0.0-alpha", "1.0.0-alpha.1", -1),
    ("npm", "1.0.0-alpha.beta", "1.0.0-beta", -1),
    ("npm", "1.0.0-beta.2", "1.0.0-beta.11", -1),
    ("npm", "1.0.0-rc.1", "1.0.0", -1),
    ("npm", "1.0.0+build.1", "1.0.0", 0),
    ("npm", "10.0.0", "9.9.9", 1),
    ("Debian", "1.0~rc1", "1.0", -1),
    ("Debian", "1:0.9", "2.0", 1),
    ("Debian", "1.2.3-1", "1.2.3-1+deb12u1", -1),
    ("Debian", "2.36-9+deb12u4", "2.36-9+deb12u10", -1),
    ("Debian:12", "1.0a", "1.0", 1),
    ("Debian", "1.0", "1.0-0", 0),
    ("Debian", "3.0.11-1~deb12u2", "3.0.11-1", -1),
])
def test_version_order(ecosystem: str, a: str, b: str, expected: int) -> None:
    assert compare(ecosystem, a, b) == expected
    assert compare(ecosystem, b, a) == -expected


@pytest.mark.parametrize(("ecosystem", "bad"), [("PyPI", "not a version"), ("npm", "1.0"), ("Debian", "a:b"),
                                                ("Go", "1.0.0")])
def test_bad_versions_are_usage_errors(ecosystem: str, bad: str) -> None:
    with pytest.raises(UsageError):
        compare(ecosystem, bad, bad)
