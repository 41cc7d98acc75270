"""`eduops drill run FILE`, `eduops drill list`, `eduops drill cleanup`."""

from __future__ import annotations

import signal
from datetime import datetime
from typing import Annotated, Any

import typer

from eduops.config import TaskOverride
from eduops.core.console import err, exit_for, out, plain, print_json, progress_bar, styled_status, table, workspace
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.drills.experiment import load_experiment
from eduops.drills.faults import FAULTS
from eduops.drills.runner import ABORT
from eduops.drills.service import cleanup, experiment_files, find_experiment
from eduops.drills.validate import validate

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
drill_app = typer.Typer(help="Emergency drills: inject a fault, time detection and recovery.", no_args_is_help=True)


@drill_app.command("list")
def list_command(faults: Annotated[bool, typer.Option("--faults", help="list the built-in faults")] = False,
                 as_json: JSON = False) -> None:
    """Ready-made experiments (and the team's own), or the built-in faults."""
    if faults:
        rows: list[dict[str, Any]] = [{"fault": f.name, "needs": ", ".join(f.required), "what": f.description}
                                      for f in FAULTS.values()]
        if as_json:
            print_json(rows)
        else:
            table(["fault", "needs", "what"], [[r["fault"], r["needs"], r["what"]] for r in rows], title="Faults")
        return
    rows = []
    for path in experiment_files(workspace().settings):
        try:
            exp, _ = load_experiment(path)
        except Exception as exc:  # noqa: BLE001 - a broken file is listed with its error
            rows.append({"name": path.stem, "title": f"(invalid: {exc})", "faults": "", "alert": "", "file": str(path)})
            continue
        rows.append({"name": path.stem, "title": exp.title, "file": str(path), "alert": exp.detection.alert or "probes",
                     "faults": ", ".join(str(a.provider.get("name")) for a in exp.method if a.kind == "action")})
    if as_json:
        print_json(rows)
        return
    table(["name", "title", "faults", "detected by"], [[r["name"], r["title"], r["faults"], r["alert"]] for r in rows],
          title="Drill experiments (run one with `eduops drill run NAME`)")


@drill_app.command("run")
def run_command(experiment: Annotated[str, typer.Argument(help="a YAML file or a ready-made name")],
                as_json: JSON = False) -> None:
    """Run a drill as the `quarterly-drill` task; the owner signs the run off afterwards.

    Ctrl-C ends it early and still rolls back. Exit 1 when the fault went unnoticed or did not recover.
    """
    ws = workspace()
    path = find_experiment(ws.settings, experiment)
    exp, _ = load_experiment(path)
    validate(exp)  # bad input stops here with the line and the fix, exit 2
    base = ws.settings.tasks.get("quarterly-drill") or TaskOverride.model_validate({})
    ws.settings.tasks["quarterly-drill"] = base.model_copy(update={
        "checks": ["drills.quarterly"], "params": {**base.params, "drills.quarterly": {"experiment": str(path)}}})

    def interrupt(signum: int, frame: Any) -> None:
        err.print("interrupted: rolling back…")
        ABORT.set()

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    ABORT.clear()
    try:
        with progress_bar(exp.title, enabled=not as_json) as progress:
            run_id = run_task(ws.engine, ws.settings, "quarterly-drill", trigger="manual", actor="cli",
                              progress=progress)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        ABORT.clear()
    run = get_run(ws.engine, run_id)
    check = run["checks"][0] if run["checks"] else {"summary": run["summary"], "evidence": {}}
    report = check.get("evidence") or {}
    if as_json:
        print_json({"run": run_id, "status": run["status"], "summary": check["summary"], **report})
    else:
        out.print(f"run [bold]#{run_id}[/] quarterly-drill: {styled_status(run['status'])} — {plain(check['summary'])}")
        for e in report.get("journal", []):
            mark = {True: "[green]✔[/]", False: "[red]✘[/]"}.get(e["ok"], " ")
            at = datetime.fromisoformat(e["at"]).astimezone(ws.settings.tz).strftime("%H:%M:%S")
            out.print(f"  {at} {mark} {e['phase']:<9} {plain(e['event'])} {plain(e['detail'][:90])}", highlight=False)
        out.print(f"time to detect: {report.get('ttd_s')} s, time to recover: {report.get('ttr_s')} s")
        out.print(f"sign off: eduops runs sign-off {run_id} --user <owner>  (or in the console)")
    exit_for(run["status"])


@drill_app.command("cleanup")
def cleanup_command(as_json: JSON = False) -> None:
    """Undo faults left behind by a drill that was killed (fill files, stopped processes)."""
    cleaned = cleanup(workspace().settings)
    if as_json:
        print_json({"cleaned": cleaned})
    else:
        out.print("\n".join(cleaned) if cleaned else "nothing left behind")
