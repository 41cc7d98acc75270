"""Console pages for learning analytics: Plotly charts and tables over the same metrics as the API.

Each page builds a list of panels (a Plotly figure or a table) from ``Analytics`` and renders the one
template ``analytics/page.html``; the filters are plain GET parameters, so every view has a link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from eduops.analytics import metrics
from eduops.analytics.figures_cache import FiguresCache
from eduops.analytics.service import Analytics
from eduops.analytics.sql import Filters
from eduops.analytics.store import open_store
from eduops.core.clock import format_time
from eduops.core.i18n import gettext, render_text
from eduops.core.pages import language_of, render, timezone_of
from eduops.core.principal import Principal, require
from eduops.core.values import parse_int
from eduops.errors import EduopsError

pages = APIRouter(prefix="/analytics")
FILTER_KEYS = ("since", "until", "course", "part", "region", "teacher", "device")
ACTIVE_HELP = ("DAU: learners with a counted statement that day; WAU and MAU: distinct learners active in the 7 "
               "and 30 days up to that day (the workspace's days).")


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if v}


def _filters(p: dict[str, str]) -> Filters:
    return Filters(p.get("course"), p.get("region"), p.get("teacher"), p.get("device"), p.get("part"))


def line(title: str, x: list[Any], series: dict[str, list[Any]], kind: str = "scatter") -> dict[str, Any]:
    data = [{"type": kind, "name": name, "x": x, "y": y} for name, y in series.items()]
    return {"title": title, "figure": {"data": data, "layout": {"barmode": "stack", "margin": {"t": 20},
                                                                  "legend": {"orientation": "h"}}}}


def table(title: str, columns: list[str], rows: list[list[Any]], links: list[str] | None = None,
          help: list[str] | None = None) -> dict[str, Any]:
    """A table panel; ``help`` holds each column's definition, shown as the header's tooltip."""
    return {"title": title, "table": {"columns": columns, "rows": rows, "links": links or [], "help": help or []}}


OUTCOME_COLUMNS = (*metrics.COUNTS, *metrics.RATES)
OUTCOME_LABELS = {"enrolled": "enrolled", "completed": "completed", "passed": "passed", "failed": "failed",
                  "withdrawn": "withdrawn", "in_progress": "in progress", "completion_pct": "completion %",
                  "pass_pct": "pass %", "pass_of_graded_pct": "pass % of graded"}


def outcomes_table(t: Any, rows: list[dict[str, Any]], key: str, links: list[str] | None = None,
                   title: str = "Outcomes by course") -> dict[str, Any]:
    """Counts and rates per course (or part), each column's definition as its tooltip; courses by name."""
    extra = ["retakes"] if key == "part" else []
    name = course_label if key == "course" else (lambda v: v)
    return table(t(title), [t(key)] + [t(OUTCOME_LABELS[c]) for c in OUTCOME_COLUMNS] + [t(e) for e in extra],
                 [[name(r[key]) if r[key] else "—", *(r[c] for c in (*OUTCOME_COLUMNS, *extra))] for r in rows],
                 links,
                 [""] + [t(metrics.DEFINITIONS[c]) for c in OUTCOME_COLUMNS]
                 + ([t(metrics.DEFINITIONS["retakes"])] if key == "part" else []))


def excluded_note(t: Any, answer: dict[str, Any], tz: str) -> list[dict[str, Any]]:
    """A note panel when the metric left out statements whose timestamp is outside the counted range."""
    ex = answer.get("excluded") or {}
    if not ex.get("out_of_range"):
        return []
    first = datetime.fromisoformat(ex["counted_from"])
    end = datetime.fromisoformat(ex["counted_until"])
    return [{"note": t("Left out of these numbers: {n} statement(s) with a timestamp outside {first} to {end}.")
             .format(n=ex["out_of_range"], first=format_time(first, tz), end=format_time(end, tz))}]


def course_bars(title: str, courses: list[dict[str, Any]], series: dict[str, str]) -> dict[str, Any]:
    """Rates per course as grouped bars named by course (the full IRI on hover); ``series``: legend → key."""
    x = [course_label(c["course"]) for c in courses]
    iris = [c["course"] for c in courses]
    data = [{"type": "bar", "name": name, "x": x, "y": [c[key] for c in courses], "customdata": iris,
             "hovertemplate": "%{customdata}<br>%{y} %<extra></extra>"} for name, key in series.items()]
    return {"title": title, "figure": {"data": data, "layout": {
        "barmode": "group", "margin": {"t": 20}, "legend": {"orientation": "h"},
        "xaxis": {"type": "category", "automargin": True}, "yaxis": {"title": {"text": "%"}, "rangemode": "tozero"}}}}


def _score(value: float | None) -> str:
    """A mean score (0–1) as a percentage."""
    return "—" if value is None else f"{value * 100:.0f} %"


def course_label(course: str) -> str:
    """What a course is called on axes and in tables: the last part of its IRI ("physics-101"), never a
    URL cut short; an id that is not a URL stays as it is."""
    path = urlsplit(course).path if "://" in course else course
    parts = [unquote(p) for p in path.split("/") if p]
    return parts[-1] if parts else course



def course_link(course: str) -> str:
    return "/analytics/course?course=" + quote(course, safe="")


def _figures(request: Request) -> FiguresCache:
    """The app's cache of page figures (figures_cache.py), made on first use."""
    cache = getattr(request.app.state, "analytics_figures", None)
    if cache is None:
        cache = request.app.state.analytics_figures = FiguresCache()
    return cache


def _page(request: Request, title: str, panels: list[dict[str, Any]], form: list[dict[str, Any]] | None = None,
          error: str = "", status_code: int = 200) -> HTMLResponse:
    p = _params(request)
    return render(request, "analytics/page.html", {"page_title": title, "panels": panels, "params": p,
                                                   "form": form or [], "error": error,
                                                   "filter_keys": FILTER_KEYS}, status_code=status_code)


async def _safe(request: Request, title: str, build: Any, form: list[dict[str, Any]] | None = None) -> HTMLResponse:
    """Bad filters or a busy store show as a message on the page (its filter form kept, to correct them), not as
    an error page; the status is still the error's (400 for a bad filter, 503 for a busy store)."""
    try:
        panels = await run_in_threadpool(build)
    except EduopsError as exc:
        return _page(request, title, [], form, exc.message, exc.http_status)
    return _page(request, title, panels, form)


@pages.get("", response_class=HTMLResponse)
async def overview(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    p, lang = _params(request), language_of(request)
    t = lambda s: gettext(s, lang)  # noqa: E731

    def build() -> list[dict[str, Any]]:
        a = Analytics.open(request.app.state.workspace.settings)
        f = _filters(p)
        act, done, region = _figures(request).get(a.store, ("overview", *sorted(p.items())), lambda: (
            a.active(p.get("since"), p.get("until"), f), a.completion(p.get("until"), f),
            a.breakdown("region", p.get("since"), p.get("until"), f)))
        days = [d["day"] for d in act["days"]]
        return [
            *excluded_note(t, act, a.tz),
            {**line(t("Active learners"), days, {t("DAU"): [d["dau"] for d in act["days"]],
                                                 t("WAU"): [d["wau"] for d in act["days"]],
                                                 t("MAU"): [d["mau"] for d in act["days"]]}), "help": t(ACTIVE_HELP)},
            line(t("New and returning learners"), days, {t("new"): [d["new"] for d in act["days"]],
                                                         t("returning"): [d["returning"] for d in act["days"]]}, "bar"),
            {**course_bars(t("Completion and pass by course (%)"), done["courses"],
                           {t("completion %"): "completion_pct", t("pass %"): "pass_pct"}),
             "help": t(metrics.DEFINITIONS["completion_pct"]) + " " + t(metrics.DEFINITIONS["pass_pct"])},
            outcomes_table(t, done["courses"], "course", [course_link(c["course"]) for c in done["courses"]]),
            table(t("By region"), [t("region"), t("learners"), t("statements"), t("completions"), t("mean score")],
                  [[r["key"], r["learners"], r["statements"], r["completions"], r["avg_score"]]
                   for r in region["rows"]]),
            table(t("Active days in the last 30 days"), [t("days active"), t("learners")],
                  [[r["days"], r["learners"]] for r in act["active_days_30"]]),
        ]

    return await _safe(request, t("Learning"), build)


@pages.get("/retention", response_class=HTMLResponse)
async def retention_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    p, lang = _params(request), language_of(request)
    t = lambda s: gettext(s, lang)  # noqa: E731
    form: list[dict[str, Any]] = [
            {"name": "unit", "label": t("interval"), "value": p.get("unit", "week"),
             "options": [("day", t("day")), ("week", t("week")), ("month", t("month"))]},
            {"name": "periods", "label": t("periods"), "value": p.get("periods", "12")},
            {"name": "mode", "label": t("mode"), "value": p.get("mode", "on"),
             "options": [("on", t("back in that period")), ("on_or_after", t("back in that period or later"))]},
            {"name": "start_verb", "label": t("start event"), "value": p.get("start_verb", "")},
            {"name": "return_verb", "label": t("return event"), "value": p.get("return_verb", "")}]

    def build() -> list[dict[str, Any]]:
        a = Analytics.open(request.app.state.workspace.settings)
        periods = parse_int(p.get("periods", "12"), "periods", lo=1, hi=520)  # the API's range
        r = _figures(request).get(a.store, ("retention", *sorted(p.items())), lambda: a.retention(
            p.get("unit", "week"), periods, p.get("mode", "on"),
            [p["start_verb"]] if p.get("start_verb") else [], [p["return_verb"]] if p.get("return_verb") else [],
            p.get("since"), p.get("until"), _filters(p)))
        labels = [c["cohort"] for c in r["cohorts"]] + [t("weighted average")]
        z = [c["pct"] for c in r["cohorts"]] + [r["average"]["pct"]]
        heat = {"title": t("Retention (% of period 0)"), "figure": {"data": [{
            "type": "heatmap", "x": list(range(r["periods"] + 1)), "y": labels, "z": z, "colorscale": "Blues",
            "reversescale": True, "texttemplate": "%{z}"}],
            "layout": {"yaxis": {"autorange": "reversed", "type": "category"}, "margin": {"t": 20}}}}
        rows = [[c["cohort"], c["size"], *c["pct"]] for c in r["cohorts"]]
        rows.append([t("weighted average"), sum(c["size"] for c in r["cohorts"]), *r["average"]["pct"]])
        return [*excluded_note(t, r, a.tz), heat,
                table(t("Cohorts"), [t("cohort"), t("learners")] + [str(n) for n in range(r["periods"] + 1)], rows)]

    return await _safe(request, t("Retention"), build, form)


@pages.get("/funnel", response_class=HTMLResponse)
async def funnel_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    p, lang = _params(request), language_of(request)
    t = lambda s: gettext(s, lang)  # noqa: E731
    steps = p.get("steps", "registered,launched,attempted,completed,passed")
    form = [{"name": "steps", "label": t("steps (comma separated)"), "value": steps},
            {"name": "window_days", "label": t("conversion window (days)"), "value": p.get("window_days", "14")}]

    def build() -> list[dict[str, Any]]:
        a = Analytics.open(request.app.state.workspace.settings)
        window = parse_int(p.get("window_days", "14"), "window_days", lo=1, hi=3660)  # the API's range
        r = _figures(request).get(a.store, ("funnel", *sorted(p.items())), lambda: a.funnel(
            [steps], window, p.get("since"), p.get("until"), _filters(p)))
        chart = {"title": t("Funnel"), "figure": {"data": [{
            "type": "funnel", "y": [s["label"] for s in r["steps"]], "x": [s["learners"] for s in r["steps"]],
            "textinfo": "value+percent initial"}], "layout": {"margin": {"t": 20}}}}
        rows = [[s["step"], s["label"], s["learners"], s["conversion_pct"], s["from_previous_pct"],
                 None if s["median_s_from_previous"] is None else round(s["median_s_from_previous"] / 3600, 1)]
                for s in r["steps"]]
        note = table(t("Biggest drop-off"), [t("step"), t("label")],
                     [[r["biggest_drop_step"], r["biggest_drop_label"]]])
        return [*excluded_note(t, r, a.tz), chart,
                table(t("Steps"), [t("step"), t("label"), t("learners"), t("conversion %"),
                                   t("from previous %"), t("median hours from previous")], rows), note]

    return await _safe(request, t("Funnel"), build, form)


@pages.get("/course", response_class=HTMLResponse)
async def course_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    p, lang, tz = _params(request), language_of(request), timezone_of(request)
    t = lambda s: gettext(s, lang)  # noqa: E731
    yes_no = lambda flag: t("yes") if flag else t("no")  # noqa: E731
    course = p.get("course", "")
    tz = timezone_of(request)

    def build() -> list[dict[str, Any]]:
        a = Analytics.open(request.app.state.workspace.settings)
        c = _figures(request).get(a.store, ("course", course), lambda: a.course(course))
        done, act = c["completion"], c["active"]
        days = [d["day"] for d in act["days"]]
        counts = metrics.COUNTS[1:]
        return [
            *excluded_note(t, c["active"], a.tz),
            {**line(t("Outcomes"), [t(OUTCOME_LABELS[o]) for o in counts], {t("learners"): [done[o] for o in counts]},
                    "bar"), "help": t("A learner can count in more than one bar (completed and failed, say).")},
            outcomes_table(t, [done], "course"),
            outcomes_table(t, c["parts"], "part", title="By part, over registrations"),
            {**line(t("Active learners"), days, {t("DAU"): [d["dau"] for d in act["days"]],
                                                 t("WAU"): [d["wau"] for d in act["days"]]}), "help": t(ACTIVE_HELP)},
            line(t("Weekly retention, weighted average (%)"), list(range(len(c["retention"]["average"]["pct"]))),
                 {"%": c["retention"]["average"]["pct"]}),
            table(t("At-risk learners"), [t("learner"), t("last active"), t("mean score"), t("idle"), t("failing")],
                  [[r["learner"], format_time(r["last_active"], tz), _score(r["avg_score"]), yes_no(r["idle"]),
                    yes_no(r["failing"])]
                   for r in c["at_risk"]["learners"][:200]]),
            table(t("Video engagement"), [t("video"), t("viewers"), t("mean watched %")],
                  [[v["video"], v["viewers"], v["mean_watched_pct"]] for v in c["video"]["videos"]]),
        ]

    if not course:  # the page of no course: where to find one, not an error
        return _page(request, t("Course"), [{"note": t("Pick a course in the Learning overview: its table links "
                                                       "each course to this page.")}])
    return await _safe(request, t("Course") + f" · {course_label(course)}", build)


@pages.get("/quality", response_class=HTMLResponse)
async def quality_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    lang = language_of(request)
    t = lambda s: gettext(s, lang)  # noqa: E731

    def build() -> list[dict[str, Any]]:
        from eduops.analytics.figures_cache import file_stamp
        from eduops.analytics.quality import quality_learning, rtc_path

        settings = request.app.state.workspace.settings
        q = _figures(request).get(open_store(settings), ("quality",), lambda: quality_learning(settings),
                                  also=file_stamp(rtc_path(settings)))
        if not q["available"]:
            return [table(t("Call quality and learning"), [t("note")], [[render_text(q["reason"], lang)]])]
        bands = q["bands"]
        return [
            *excluded_note(t, q, request.app.state.workspace.settings.timezone),
            line(t("Completion by call-quality band (%)"), [b["band"] for b in bands],
                 {t("completion %"): [b["completion_pct"] for b in bands]}, "bar"),
            line(t("Active again within 7 days of a class (%)"), [b["band"] for b in bands],
                 {"%": [b["returned_7d_pct"] for b in bands]}, "bar"),
            table(t("By call-quality band"), [t("band"), t("learners"), t("sessions"), t("completion %"),
                                              t("returned within 7 days %")],
                  [[b["band"], b["learners"], b["sessions"], b["completion_pct"], b["returned_7d_pct"]]
                   for b in bands]),
        ]

    return await _safe(request, t("Call quality and learning"), build)
