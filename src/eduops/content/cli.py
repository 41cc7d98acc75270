"""`eduops content ...`: import the registry, publish a syllabus, record reviews, audit."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from eduops.content import service
from eduops.content.importer import read_file
from eduops.core.console import out, print_json, table, workspace
from eduops.db import utcnow
from eduops.errors import UsageError

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
app = typer.Typer(help="Courses, assets, syllabus versions, question banks and licences.", no_args_is_help=True)


def _today() -> date:
    return utcnow().astimezone(workspace().settings.tz).date()


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="a .csv or .json file of assets")], as_json: JSON = False
) -> None:
    """Create or update assets (and their courses and lessons) from CSV or JSON; all or nothing."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    result = service.import_assets(workspace().engine, read_file(path.name, path.read_bytes()))
    print_json(result) if as_json else out.print(f"{result['created']} created, {result['updated']} updated")


@app.command("courses")
def courses_command(as_json: JSON = False) -> None:
    """Courses with their lessons, assets and how many need review."""
    rows = service.list_courses(workspace().engine)
    if as_json:
        print_json(rows)
        return
    table(
        ["code", "title", "owner", "syllabus", "lessons", "assets", "needs review"],
        [
            [r["code"], r["title"], r["owner"], r["syllabus_code"], r["lessons"], r["assets"], r["needs_review"]]
            for r in rows
        ],
    )


@app.command("assets")
def assets_command(
    course: Annotated[str | None, typer.Option(help="only this course code")] = None,
    kind: Annotated[str | None, typer.Option(help="video, slides, handout or question")] = None,
    needs_review: Annotated[bool, typer.Option("--needs-review", help="only flagged assets")] = False,
    owner: Annotated[str | None, typer.Option(help="only this owner's assets")] = None,
    as_json: JSON = False,
) -> None:
    """Assets with owner, syllabus version, review state and licence end."""
    rows = service.list_assets(workspace().engine, course=course, kind=kind, needs_review=needs_review, owner=owner)
    if as_json:
        print_json(rows)
        return
    table(
        ["code", "kind", "title", "owner", "syllabus", "review", "licence until"],
        [
            [
                r["code"],
                r["kind"],
                r["title"],
                r["owner"],
                f"{r['syllabus_code']} {r['syllabus_version']}",
                r["review_status"],
                r["licence"]["expiry"] or "—",
            ]
            for r in rows
        ],
    )


@app.command("syllabus")
def syllabus_command(
    code: Annotated[str, typer.Argument(help="syllabus code, e.g. gaokao-math")],
    version: Annotated[str, typer.Argument(help="the new current version, e.g. 2026")],
    title: Annotated[str, typer.Option(help="a readable title")] = "",
    points: Annotated[str, typer.Option(help="syllabus points, comma-separated")] = "",
    as_json: JSON = False,
) -> None:
    """Publish a syllabus version: every asset on an older version needs review by its owner."""
    result = service.publish_syllabus(
        workspace().engine,
        code,
        version,
        title=title,
        points=[p.strip() for p in points.split(",") if p.strip()] or None,
    )
    if as_json:
        print_json(result)
        return
    out.print(f"{code} {version} is current; {len(result['needs_review'])} assets need review")
    table(["asset", "title", "owner"], [[a["code"], a["title"], a["owner"]] for a in result["needs_review"]])


@app.command("reviewed")
def reviewed_command(
    code: Annotated[str, typer.Argument(help="the asset code")],
    reviewer: Annotated[str, typer.Option(help="who reviewed it")],
    as_json: JSON = False,
) -> None:
    """Record that an asset was reviewed against the current syllabus."""
    asset = service.mark_reviewed(workspace().engine, code, reviewer, _today())
    print_json(asset) if as_json else out.print(f"{code} reviewed; follows {asset['syllabus_version']}")


@app.command("audit")
def audit_command(as_json: JSON = False) -> None:
    """Stale syllabus content, licence problems and question-bank gaps, with owners. Exit 1 on problems."""
    ws = workspace()
    report = service.audit(ws.engine, ws.settings, _today())
    problems = [r for r in report["licences"] + report["freshness"] if r["severity"] != "info"]
    if as_json:
        print_json(report)
    else:
        table(
            ["asset", "title", "owner", "problem", "detail"],
            [[r["code"], r["title"], r["owner"], r["problem"], r["detail"]] for r in problems],
            title=f"Content audit {report['date']}: {report['assets']} assets",
        )
        for qb in report["question_bank"]:
            if qb["thin_points"]:
                out.print(f"question bank {qb['syllabus']}: thin points {', '.join(qb['thin_points'])}")
    if problems or any(q["thin_points"] for q in report["question_bank"]):
        raise typer.Exit(1)
