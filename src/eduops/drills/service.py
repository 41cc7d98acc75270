"""Drills as eduops runs them: where experiments are found, running one, and the journal as a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eduops.config import Settings
from eduops.drills.experiment import Experiment, load_experiment
from eduops.drills.faults import recover_leftovers
from eduops.drills.runner import Drill, Progress
from eduops.errors import UsageError

READY_MADE = Path(__file__).parent / "experiments"


class DrillSettings(BaseModel):
    """The [drills] section of eduops.toml."""

    model_config = ConfigDict(extra="forbid")
    experiment: str = Field(default="database-down", description="what the quarterly drill runs: a name or a file")
    experiments_dir: str = Field(default="", description="a folder of the team's own experiments")


def drill_settings(settings: Settings) -> DrillSettings:
    return settings.section("drills", DrillSettings)


def state_file(settings: Settings) -> Path:
    return settings.home / "drills" / "active-faults.json"


def experiment_files(settings: Settings) -> list[Path]:
    own = drill_settings(settings).experiments_dir
    folders = [READY_MADE] + ([Path(own).expanduser()] if own else [])
    return [p for f in folders if f.is_dir() for p in sorted(f.glob("*.y*ml"))]


def find_experiment(settings: Settings, name_or_path: str) -> Path:
    """A file path, or the name of a ready-made (or the team's) experiment such as ``database-down``."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.resolve()
    for candidate in experiment_files(settings):
        if candidate.stem == name_or_path:
            return candidate
    names = ", ".join(p.stem for p in experiment_files(settings))
    raise UsageError(f"no experiment file or ready-made experiment named {name_or_path!r}; ready-made: {names}")


def run_drill(settings: Settings, path: Path, workdir: Path, engine: Any = None,
              progress: Progress = lambda message, fraction: None) -> tuple[Experiment, dict[str, Any]]:
    exp, _ = load_experiment(path)
    return exp, Drill(exp, state_file(settings), workdir, engine=engine, settings=settings,
                      progress=progress).run()


def cleanup(settings: Settings) -> list[str]:
    return recover_leftovers(state_file(settings))


def render_markdown(report: dict[str, Any]) -> str:
    alert = report.get("alert") or {}
    lines = [f"# Drill: {report['title']}", "", report.get("description", "").strip(), "",
             f"- result: **{'passed' if report['passed'] else 'failed'}**"
             + ("" if report["passed"] else f" — {'; '.join(report['reasons'])}"),
             f"- injected at {report['injected_at'] or '—'}",
             f"- time to detect: {_s(report['ttd_s'])} (by {report['detected_by'] or 'nothing'})",
             f"- time to recover: {_s(report['ttr_s'])}"]
    if alert:
        window = alert.get("expected_ttd_s") or [None, None]
        lines.append(f"- alert {alert['name']} (for {alert['for_s']:.0f} s, evaluated every "
                     f"{alert['evaluation_interval_s']:.0f} s): fired {alert['fired_at'] or 'never'}, resolved "
                     f"{alert['resolved_at'] or '—'}; expected time to detect {_s(window[0])}–{_s(window[1])}")
    lines += ["", "## Journal", "", "| time (UTC) | phase | event | detail |", "|---|---|---|---|"]
    for e in report["journal"]:
        mark = {True: "✅ ", False: "❌ "}.get(e["ok"], "")
        detail = str(e["detail"]).replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {e['at'][11:23]} | {e['phase']} | {mark}{e['event']} | {detail} |")
    lines += ["", "The owner signs this drill off in the console (or `eduops runs sign-off RUN --user NAME`)."]
    return "\n".join(lines) + "\n"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def write_report(directory: Path, report: dict[str, Any]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / "drill-report.md"
    md.write_text(render_markdown(report), encoding="utf-8")
    data = directory / "drill-journal.json"
    data.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return [md, data]
