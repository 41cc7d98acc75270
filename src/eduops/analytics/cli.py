"""`eduops analytics …`: learning metrics in the terminal (or --json) and imports into the event store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from eduops.analytics.sql import DIMENSIONS, Filters
from eduops.core.console import out, print_json, progress_bar, table, workspace

if TYPE_CHECKING:
    Dimension = str
else:  # Typer lists the choices in help and errors
    Dimension = Literal[tuple(DIMENSIONS)]

app = typer.Typer(help="Learning analytics: active learners, completion, retention, funnels, imports.",
                  no_args_is_help=True)

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
Since = Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD")]
Until = Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (inclusive)")]
Course = Annotated[str | None, typer.Option(help="only this course (activity id)")]
Region = Annotated[str | None, typer.Option(help="only this region")]
Teacher = Annotated[str | None, typer.Option(help="only this teacher")]
Device = Annotated[str | None, typer.Option(help="only this device")]
Part = Annotated[str | None, typer.Option(help="only this part of a course: presentation, term or class (activity id)")]


def _analytics() -> Any:
    from eduops.analytics.service import Analytics

    return Analytics.open(workspace().settings)


@app.command("active")
def active(since: Since = None, until: Until = None, course: Course = None, region: Region = None,
           teacher: Teacher = None, device: Device = None, part: Part = None, as_json: JSON = False) -> None:
    """Daily active learners, rolling 7-day (WAU) and 30-day (MAU), new vs returning, stickiness."""
    result = _analytics().active(since, until, Filters(course, region, teacher, device, part))
    if as_json:
        print_json(result)
        return
    table(["day", "DAU", "WAU", "MAU", "new", "returning", "DAU/MAU"],
          [[d["day"], d["dau"], d["wau"], d["mau"], d["new"], d["returning"], d["stickiness"]] for d in result["days"]],
          title=f"Active learners {result['first']} … {result['last']}")
    out.print(f"mean stickiness (DAU/MAU): {result['stickiness']}")


@app.command("completion")
def completion(until: Until = None, course: Course = None, region: Region = None, teacher: Teacher = None,
               device: Device = None,
               part: Part = None,
               by: Annotated[str, typer.Option(help="course, or part (presentation/term/class)")] = "course",
               count: Annotated[str, typer.Option(help="learners, or registrations (a retake counts again)")]
               = "learners", as_json: JSON = False) -> None:
    """Per course: enrolled, completed, passed, failed, withdrawn, in progress, completion % and pass %."""
    from eduops.analytics import metrics

    result = _analytics().completion(until, Filters(course, region, teacher, device, part), by, count)
    if as_json:
        print_json(result)
        return
    keys = [*metrics.COUNTS, *metrics.RATES, "retakes"]
    heads = ["course"] + (["part"] if by == "part" else [])
    table([*heads, *(k.replace("_pct", " %").replace("_", " ") for k in keys)],
          [[*(c[h] for h in heads), *(c[k] for k in keys)] for c in result["courses"]],
          title=f"Completion and pass by {by}, counting {count}")
    out.print(f"overall: completion {result['completion_pct']}%, pass {result['pass_pct']}% of "
              f"{result['enrolled']} enrolments")
    for key in keys:
        out.print(f"[dim]{key}: {metrics.DEFINITIONS[key]}[/dim]")


@app.command("retention")
def retention(
    unit: Annotated[str, typer.Option(help="day, week or month")] = "week",
    periods: Annotated[int, typer.Option(min=1, max=120)] = 12,
    mode: Annotated[str, typer.Option(help="on, or on-or-after")] = "on",
    start_verb: Annotated[list[str] | None, typer.Option(help="verb that starts a cohort (default: any)")] = None,
    return_verb: Annotated[list[str] | None, typer.Option(help="verb that counts as a return (default: any)")] = None,
    since: Since = None, until: Until = None, course: Course = None, region: Region = None,
    teacher: Teacher = None, device: Device = None, part: Part = None, as_json: JSON = False,
) -> None:
    """Retention cohorts: % of each cohort active again in period n (or n or later), weighted average row."""
    result = _analytics().retention(unit, periods, mode, start_verb or [], return_verb or [], since, until,
                                    Filters(course, region, teacher, device, part))
    if as_json:
        print_json(result)
        return
    cols = ["cohort", "learners"] + [f"{unit[0]}{n}" for n in range(result["periods"] + 1)]
    rows = [[c["cohort"], c["size"], *["" if p is None else f"{p:.1f}" for p in c["pct"]]] for c in result["cohorts"]]
    rows.append(["average", sum(c["size"] for c in result["cohorts"]),
                 *["" if p is None else f"{p:.1f}" for p in result["average"]["pct"]]])
    table(cols, rows, title=f"Retention by {unit} ({result['mode']}), % of period 0")


@app.command("funnel")
def funnel(
    steps: Annotated[list[str], typer.Argument(help="verbs in order (short name or IRI; verb@object-id)")],
    window_days: Annotated[int, typer.Option(min=1, max=365, help="conversion window from step 1")] = 14,
    since: Since = None, until: Until = None, course: Course = None, region: Region = None,
    teacher: Teacher = None, device: Device = None, part: Part = None, as_json: JSON = False,
) -> None:
    """Ordered funnel: learners per step, conversion, median time between steps, biggest drop-off."""
    result = _analytics().funnel(steps, window_days, since, until, Filters(course, region, teacher, device, part))
    if as_json:
        print_json(result)
        return
    table(["step", "verb", "learners", "conversion %", "from previous %", "median h from previous"],
          [[s["step"], s["label"], s["learners"], s["conversion_pct"], s["from_previous_pct"],
            None if s["median_s_from_previous"] is None else round(s["median_s_from_previous"] / 3600, 2)]
           for s in result["steps"]], title=f"Funnel (window {window_days} days)")
    if result["biggest_drop_step"]:
        out.print(f"most learners drop out before step {result['biggest_drop_step']} ({result['biggest_drop_label']})")


@app.command("breakdown")
def breakdown(dimension: Annotated[Dimension, typer.Argument(help="what to group by")],
              since: Since = None, until: Until = None, course: Course = None, region: Region = None,
              teacher: Teacher = None, device: Device = None, part: Part = None, as_json: JSON = False) -> None:
    """Learners, statements, completions and mean score by one dimension."""
    result = _analytics().breakdown(dimension, since, until, Filters(course, region, teacher, device, part))
    if as_json:
        print_json(result)
        return
    table([dimension, "learners", "statements", "completions", "mean score"],
          [[r["key"], r["learners"], r["statements"], r["completions"], r["avg_score"]] for r in result["rows"]])


@app.command("at-risk")
def at_risk(asof: Annotated[str | None, typer.Option(help="day to judge from (default: last activity)")] = None,
            idle_days: Annotated[int, typer.Option(min=1, max=365)] = 7, course: Course = None,
            part: Part = None, as_json: JSON = False) -> None:
    """Learners in progress who are failing or have not been active for --idle-days."""
    result = _analytics().at_risk(asof, Filters(course=course, part=part), idle_days)
    if as_json:
        print_json(result)
        return
    table(["course", "learner", "last active", "mean score", "idle", "failing"],
          [[r["course"], r["learner"], r["last_active"], r["avg_score"], r["idle"], r["failing"]]
           for r in result["learners"][:500]], title=f"At-risk learners ({len(result['learners'])})")


@app.command("status")
def status(as_json: JSON = False) -> None:
    """The event store: statements stored, waiting in the ingest journal, and the indexing progress after an
    upgrade ("indexing statements: N of M")."""
    from eduops.analytics.store import open_store
    from eduops.analytics.store_status import store_status, summary
    from eduops.core.i18n import msg, render_text

    settings = workspace().settings
    found = store_status(open_store(settings))
    found["summary"] = render_text(summary(found), settings.language)
    if as_json:
        print_json(found)
        return
    out.print(f"{found['location']}: {found['summary']}")
    helpers = found.get("ingest_helpers")
    if helpers:
        out.print("  " + render_text(msg("ingest helper processes: {ready} ready of {configured}", **helpers),
                                     settings.language))
    for key in ("load_error", "index_error"):
        if found.get(key):
            out.print(f"  {key.replace('_', ' ')}: {found[key]}")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="xAPI JSON or JSONL, or a CSV of enrolments/outcomes")],
    kind: Annotated[str, typer.Option(help="xapi, enrolments or outcomes (default: from the extension)")] = "",
    column: Annotated[list[str] | None, typer.Option(help="CSV mapping field=column, e.g. learner=student_no")] = None,
    course: Annotated[str | None, typer.Option(help="course id for CSV rows without a course column")] = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000)] = 5000,
    as_json: JSON = False,
) -> None:
    """Load statements into the event store; invalid records are skipped and summarised, not fatal."""
    from eduops.analytics.importer import import_file

    ws = workspace()
    with progress_bar(f"importing {file.name}", enabled=not as_json) as progress:
        summary = import_file(ws.settings, file, kind=kind, mapping=column or [], course=course, batch=batch,
                              progress=progress)
    if as_json:
        print_json(summary.to_dict())
    else:
        out.print(f"{summary.stored} statements stored, {summary.duplicates} already there, "
                  f"{summary.rejected} rejected from {summary.read} records in {file}")
        for reason, count in summary.reasons.most_common(10):
            out.print(f"  {count} × {reason}")
        for line, reason in summary.examples[:5]:
            out.print(f"    e.g. record {line}: {reason}")
    if summary.stored == 0 and summary.rejected:
        raise typer.Exit(2)
