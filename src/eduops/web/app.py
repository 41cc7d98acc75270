"""The FastAPI application: every domain's ``router``, ``pages``, ``NAV`` and ``setup(app)``, as its plugin declares."""

from __future__ import annotations

import threading
from collections.abc import Collection

from fastapi import FastAPI

from eduops import __version__
from eduops.core import plugins
from eduops.core.workspace import Workspace
from eduops.web import errors
from eduops.web.guard import Guard
from eduops.web.head import HeadAsGet
from eduops.web.proxy import ProxyHeaders


def create_app(ws: Workspace, domains: Collection[str] | None = None) -> FastAPI:
    """The app with every domain's routes, or only those of the domains named (e.g. ``("core", "web")``)."""
    app = FastAPI(
        title="eduops",
        version=__version__,
        description="Maintenance control plane for an online-education platform.",
        docs_url=None,  # eduops.web.apidocs serves /api/docs without a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.workspace = ws

    def background_run(run_id: int) -> None:
        from eduops.core.runs import execute

        threading.Thread(
            target=execute, args=(ws.engine, ws.settings, run_id), daemon=True, name=f"run-{run_id}"
        ).start()

    app.state.background_run = background_run
    errors.install(app)
    chosen = [d for d in plugins.domains() if domains is None or d.name in domains]
    modules = [plugins.load(m) for d in chosen for m in d.web]
    app.state.nav = sorted(
        (item for module in modules for item in getattr(module, "NAV", [])), key=lambda i: (i.order, i.label)
    )
    for module in modules:
        if hasattr(module, "router"):
            app.include_router(module.router)
        if hasattr(module, "pages"):
            app.include_router(module.pages, include_in_schema=False)
        if hasattr(module, "setup"):
            module.setup(app)
    if ws.settings.trusted_proxies:  # added just inside the Guard: everything after it sees the real client
        app.add_middleware(ProxyHeaders, trusted=ws.settings.trusted_proxies)
    app.add_middleware(HeadAsGet)
    app.add_middleware(Guard)  # added last, so it is the outermost: it sees every body and every failure
    return app
