"""Builds the one compiled module: ``eduops.analytics._fastpath_c``, a Cython build of ``fastpath.py``.

Everything else is in pyproject.toml. The copy carries the SHA-256 of the source it was built from, so
``fastpath.compiled()`` never runs a stale build (it falls back to the Python source and says so). Without a C
compiler the extension is skipped (``optional``) and eduops runs the same code uncompiled, more slowly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = Path("src/eduops/analytics/fastpath.py")
COPY = Path("build/cython/eduops/analytics/_fastpath_c.py")


def fastpath_extension() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    text = SOURCE.read_bytes()
    COPY.parent.mkdir(parents=True, exist_ok=True)
    COPY.write_bytes(text + f'\nSOURCE_SHA256 = "{hashlib.sha256(text).hexdigest()}"\n'.encode())
    extension = Extension("eduops.analytics._fastpath_c", [str(COPY)], optional=True)
    return cythonize([extension], compiler_directives={"language_level": 3}, quiet=True,  # type: ignore[no-any-return]
                     build_dir="build/cython-c")


setup(ext_modules=fastpath_extension())
