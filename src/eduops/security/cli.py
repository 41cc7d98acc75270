"""`eduops security ...` and `eduops keys rotate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from eduops.core.checks import finding_to_dict
from eduops.core.console import (
    confirm_or_refuse,
    local_time,
    out,
    print_json,
    progress_bar,
    styled_status,
    table,
    workspace,
)
from eduops.errors import UsageError
from eduops.security.scoring import AREA_TITLES, AREAS

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
security_app = typer.Typer(help="Security scan, dependency check and data protection.", no_args_is_help=True)


def _areas(value: str | None) -> list[str] | None:
    if not value:
        return None
    chosen = [a.strip() for a in value.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in AREAS]
    if unknown:
        raise UsageError(f"unknown area {', '.join(unknown)}; choose from {', '.join(AREAS)}")
    return chosen


@security_app.command("scan")
def scan_command(
    areas: Annotated[str | None, typer.Option(help=f"only these areas, comma-separated: {', '.join(AREAS)}")] = None,
    as_json: JSON = False,
) -> None:
    """Scan now: findings with severity and remedy, score per area, trend. Exit 1 on warn/crit findings."""
    from eduops.security.service import run_scan

    ws = workspace()
    with progress_bar("security scan", enabled=not as_json) as progress:
        report = run_scan(ws.settings, ws.engine, areas=_areas(areas), progress=progress)
    if as_json:
        print_json(report.to_dict())
    else:
        delta = report.trend.get("overall")
        out.print(f"security score [bold]{report.score:.0f}[/]/100 "
                  f"{'' if delta is None else f'({delta:+.0f} on last week) '}— {styled_status(report.status)}")
        table(["area", "score", "Δ week", "findings", "note"],
              [[AREA_TITLES[n], "—" if a.score is None else f"{a.score:.0f}",
                "" if report.trend.get(n) is None else f"{report.trend[n]:+.0f}", len(a.findings),
                escape(a.skipped or a.error)] for n, a in report.areas.items()])
        for f in sorted(report.findings, key=lambda f: {"crit": 0, "warn": 1, "info": 2}[f.severity]):
            out.print(f"[{'bold red' if f.severity == 'crit' else 'yellow' if f.severity == 'warn' else 'dim'}]"
                      f"{f.severity}[/] {escape(str(f.title))}", highlight=False)
            if f.remedy:
                out.print(f"      → {escape(str(f.remedy))}", highlight=False)
    if report.status in ("warn", "crit"):
        raise typer.Exit(1)


@security_app.command("deps")
def deps_command(
    files: Annotated[list[Path], typer.Argument(help="requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, "
                                                     "package-lock.json")],
    osv: Annotated[list[Path] | None, typer.Option("--osv", help="OSV dump folder or all.zip")] = None,
    as_json: JSON = False,
) -> None:
    """Check dependency files against the offline OSV database. Exit 1 when something is vulnerable."""
    from eduops.security import deps
    from eduops.security.inventory import read_inventory
    from eduops.security.settings import security_settings

    sources = list(osv or []) or security_settings(workspace().settings).osv_sources()
    if not sources:
        raise UsageError("no OSV database: pass --osv or set [security] osv_paths")
    packages = [p for f in files for p in read_inventory(f)]
    report = deps.scan_packages(deps.database(sources), packages)
    if as_json:
        print_json(report.to_dict())
    else:
        table(["package", "version", "advisory", "aliases", "fixed in", "summary"],
              [[v.package, v.version, v.id, ", ".join(v.aliases[:3]), v.fixed or "—", v.summary[:80]]
               for v in report.vulnerabilities], title=f"{report.packages} packages checked")
    if report.vulnerabilities:
        raise typer.Exit(1)


@security_app.command("history")
def history_command(as_json: JSON = False) -> None:
    """Past scans: the score per area, oldest first."""
    from eduops.security.service import history

    points = history(workspace().engine)
    if as_json:
        print_json([{"at": p.at.isoformat(), "score": p.score, "areas": p.areas} for p in points])
        return
    table(["at", "score"] + [AREA_TITLES[a] for a in AREAS],
          [[local_time(p.at), f"{p.score:.0f}"] + [p.areas.get(a, "—") for a in AREAS] for p in points])


@security_app.command("traffic")
def traffic_command(as_json: JSON = False) -> None:
    """Record the traffic anomaly signal now (request rates, top talkers, failed-login bursts) and show it."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from eduops.security.settings import security_settings
    from eduops.security.traffic import record_signal

    ws = workspace()
    found = record_signal(security_settings(ws.settings), ws.engine, datetime.now(UTC))
    if as_json:
        print_json({"measurements": [asdict(m) for m in found.measurements],
                    "findings": [finding_to_dict(f, "en") for f in found.findings], "evidence": found.evidence})
    else:
        table(["metric", "labels", "value"],
              [[m.name, ", ".join(f"{k}={v}" for k, v in m.labels.items()), m.value] for m in found.measurements])
        for f in found.findings:
            out.print(f"{f.severity} {escape(str(f.title))}", highlight=False)
    if any(f.severity in ("warn", "crit") for f in found.findings):
        raise typer.Exit(1)


def rotate_command(
    as_json: JSON = False,
    yes: Annotated[bool, typer.Option("--yes", help="rotate without asking")] = False,
) -> None:
    """Add a new key and re-encrypt every stored secret under it (old keys stay for older backups)."""
    from eduops.security.keys import rotate

    ws = workspace()
    if not yes:
        confirm_or_refuse(f"Key rotation adds a new key to {ws.settings.key_file} and re-encrypts every stored secret "
                          f"(database columns and {ws.settings.config_file or 'eduops.toml'}) under it; back up the "
                          "key file again afterwards.")
    result = rotate(ws.engine, ws.settings.key_file, ws.settings.config_file)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(f"new active key [bold]{result.new_key}[/]: re-encrypted {result.reencrypted} values in "
              f"{len(result.columns)} columns; {result.remaining_old} values remain under old keys")
