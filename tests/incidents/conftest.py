"""The incidents domain is found through its entry point; an install made before the domain existed
(``pip install -e .`` not run again since) gets it registered here, the way ``plugins = [...]`` would."""

from __future__ import annotations

from eduops.core import plugins

if plugins.domain("incidents") is None:
    plugins.add_plugins(["eduops.incidents.plugin"])
