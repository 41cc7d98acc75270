"""/api/docs: the OpenAPI description as a plain server-rendered page (Swagger UI would need a CDN)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eduops.core.pages import render
from eduops.core.principal import public

router = APIRouter()
METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per path and method, with its parameters and the schema of its body."""
    rows = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = (op.get("requestBody") or {}).get("content", {})
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": (op.get("description") or "").strip(),
                    "tag": (op.get("tags") or ["other"])[0],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": (p.get("schema") or {}).get("type", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": ", ".join(sorted(body)),
                }
            )
    return rows


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(public)])
def api_docs(request: Request) -> Response:
    spec = request.app.openapi()
    rows = operations(spec)
    tags = sorted({r["tag"] for r in rows})
    return render(request, "web/apidocs.html", {"info": spec.get("info", {}), "rows": rows, "tags": tags})
