"""Drills in the console: the experiments, past drills with time to detect and recover, and sign-off state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])
pages = APIRouter()
NAV = [NavItem("/drills", "Drills", "read", 72, group="Operations")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


@router.get("/experiments")
def get_experiments(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    """Ready-made experiments and the team's own, with the faults they inject and the alert they expect."""
    from eduops.drills.experiment import load_experiment
    from eduops.drills.service import experiment_files
    from eduops.errors import UsageError

    out: list[dict[str, Any]] = []
    for path in experiment_files(_ws(request).settings):
        try:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        known = _SUMMARIES.get(path)
        if stamp is not None and known is not None and known[0] == stamp:
            out.append(known[1])  # the file is unchanged since it was read
            continue
        try:
            exp, _lines = load_experiment(path)
            summary = {"name": path.stem, "title": exp.title, "description": exp.description.strip(),
                       "alert": exp.detection.alert, "tags": exp.tags,
                       "faults": [a.provider.get("name") for a in exp.method if a.kind == "action"]}
        except UsageError as exc:
            summary = {"name": path.stem, "error": exc.message}
        if stamp is not None:
            _SUMMARIES[path] = (stamp, summary)
        out.append(summary)
    return [dict(s) for s in out]


# each experiment file's summary, with the size and modification time it was read at
_SUMMARIES: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


@router.get("/runs")
def get_drill_runs(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    """Past drills: result, time to detect, time to recover and who signed them off."""
    from eduops.core.service import get_run, list_runs

    engine = _ws(request).engine
    out = []
    for row in list_runs(engine, task="quarterly-drill", limit=50):
        run = get_run(engine, row["id"])
        ev = run["checks"][0]["evidence"] if run["checks"] else {}
        out.append({"id": run["id"], "status": run["status"], "started_at": run["started_at"],
                    "title": ev.get("title"), "ttd_s": ev.get("ttd_s"), "ttr_s": ev.get("ttr_s"),
                    "detected_by": ev.get("detected_by"), "passed": ev.get("passed"), "reasons": ev.get("reasons"),
                    "signed_off_by": run["signed_off_by"], "signed_off_at": run["signed_off_at"]})
    return out


@pages.get("/drills", response_class=HTMLResponse)
def drills_page(request: Request, who: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.core.pages import render

    return render(request, "drills/index.html", {"experiments": get_experiments(request, who),
                                                  "drills": get_drill_runs(request, who)})


def setup(app: Any) -> None:
    """On start-up, undo faults a killed drill left behind (fill files, stopped processes and services)."""
    import logging

    from eduops.drills.service import cleanup

    try:
        for line in cleanup(app.state.workspace.settings):
            logging.getLogger("eduops.drills").warning("cleaned up after an interrupted drill: %s", line)
    except Exception as exc:  # noqa: BLE001 - the console must start anyway
        logging.getLogger("eduops.drills").error("could not clean up after interrupted drills: %s", exc)
