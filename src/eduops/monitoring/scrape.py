"""Scraping Prometheus exporters the way Prometheus does (prometheus-client's text parser).

A scrape job (``[[monitoring.scrape]]``) has many targets: ``url``, ``targets`` and file_sd files
(re-read when they change; a broken file keeps its last good targets). Each target gets ``job``
and ``instance`` (its address) labels, the job's ``labels`` and relabelling; samples keep the
exporter's labels (renamed ``exported_*`` on a clash unless ``honor_labels``) and go through
``metric_relabel_configs``. Every target also yields ``up``, ``scrape_duration_seconds`` and
``scrape_samples_scraped``.
"""

from __future__ import annotations

import glob
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from eduops.core.checks import Measurement
from eduops.monitoring.relabel import public, relabel, rules_from, sample_labels, target_labels

MAX_SERIES = 20000
MAX_PARALLEL = 8


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float, str]]:
    """Every sample of a text exposition: (name, exporter labels, value, unit)."""
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if math.isnan(sample.value):
                continue
            out.append(
                (sample.name, {k: str(v) for k, v in sample.labels.items()}, float(sample.value), family.unit or "")
            )
            if len(out) >= MAX_SERIES:
                return out
    return out


def read_sd_file(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(address, labels) of a file_sd file: a JSON or YAML list of {targets: [...], labels: {...}}."""
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a list of {{targets: [...], labels: {{...}}}} groups")
    out = []
    for i, group in enumerate(data):
        if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
            raise ValueError(f"{path}: group {i + 1} has no targets list")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict):
            raise ValueError(f"{path}: group {i + 1}: labels must be a mapping")
        extra = {str(k): str(v) for k, v in labels.items()} | {"__meta_filepath": str(path)}
        out += [(str(t), extra) for t in group["targets"]]
    return out


@dataclass
class FileSD:
    """file_sd files by glob; each file is parsed again only when its mtime or size changed."""

    patterns: list[str]
    cache: dict[str, tuple[tuple[float, int], list[tuple[str, dict[str, str]]]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def targets(self) -> list[tuple[str, dict[str, str]]]:
        seen: list[str] = []
        out: list[tuple[str, dict[str, str]]] = []
        for pattern in self.patterns:
            for name in sorted(glob.glob(pattern)):
                seen.append(name)
                try:
                    st = Path(name).stat()
                except OSError:
                    continue
                stamp = (st.st_mtime, st.st_size)
                cached = self.cache.get(name)
                if cached is None or cached[0] != stamp:
                    try:
                        self.reads += 1
                        self.cache[name] = (stamp, read_sd_file(Path(name)))
                        self.errors.pop(name, None)
                    except (OSError, ValueError, yaml.YAMLError) as exc:
                        self.errors[name] = str(exc)  # keep the last good targets
                out += self.cache.get(name, ((0.0, 0), []))[1]
        for gone in [n for n in self.cache if n not in seen]:
            del self.cache[gone]
        return out


@dataclass
class Target:
    url: str
    labels: dict[str, str]  # public: job, instance and the rest


class Scraper:
    """One scrape job; calling it scrapes every current target once."""

    def __init__(self, c: Any, home: Path | None = None) -> None:
        self.c = c
        base = Path(home) if home else Path.cwd()
        self.sd = FileSD([p if Path(p).is_absolute() else str(base / p) for p in c.file_sd])
        self.relabel_rules = rules_from(c.relabel_configs)
        self.metric_rules = rules_from(c.metric_relabel_configs)

    def targets(self) -> list[Target]:
        raw: list[tuple[str, str, str, dict[str, str]]] = []  # address, scheme, path, labels
        if self.c.url:
            parts = urlsplit(self.c.url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            raw.append((parts.netloc, parts.scheme, path or "/metrics", {}))
        raw += [(t, self.c.scheme, self.c.metrics_path, {}) for t in self.c.targets]
        raw += [(t, self.c.scheme, self.c.metrics_path, extra) for t, extra in self.sd.targets()]
        out, seen = [], set()
        for address, scheme, path, extra in raw:
            labels = target_labels(address, self.c.name, scheme, path, {**self.c.labels, **extra}, self.relabel_rules)
            if labels is None:
                continue
            url = f"{labels['__scheme__']}://{labels['__address__']}{labels['__metrics_path__']}"
            key = (url, tuple(sorted(public(labels).items())))
            if key not in seen:
                seen.add(key)
                out.append(Target(url, public(labels)))
        return out

    def scrape(self, target: Target) -> tuple[list[Measurement], str]:
        t0 = time.perf_counter()
        error = ""
        samples: list[Measurement] = []
        try:
            response = httpx.get(target.url, timeout=self.c.timeout, headers={"Accept": "text/plain;version=0.0.4"})
            response.raise_for_status()
            for name, exported, value, unit in parse_exposition(response.text):
                labels = sample_labels({**exported, "__name__": name}, target.labels, self.c.honor_labels)
                kept = relabel(labels, self.metric_rules) if self.metric_rules else labels
                if kept is None or not kept.get("__name__"):
                    continue
                metric = kept.pop("__name__")
                samples.append(Measurement(metric, value, unit, public(kept)))
        except (httpx.HTTPError, ValueError) as exc:
            error = f"{target.labels.get('instance', target.url)}: {type(exc).__name__}: {exc}"
            samples = []
        seconds = time.perf_counter() - t0
        return samples + [
            Measurement("up", 0.0 if error else 1.0, "", dict(target.labels)),
            Measurement("scrape_duration_seconds", round(seconds, 6), "s", dict(target.labels)),
            Measurement("scrape_samples_scraped", float(len(samples)), "", dict(target.labels)),
        ], error

    def __call__(self) -> tuple[list[Measurement], str]:
        targets = self.targets()
        errors = [f"{name}: {why}" for name, why in sorted(self.sd.errors.items())]
        if not targets:
            return [], "; ".join(errors) or "no targets"
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(targets)), thread_name_prefix="scrape") as pool:
            results = list(pool.map(self.scrape, targets))
        measurements = [m for ms, _ in results for m in ms]
        errors += [e for _, e in results if e]
        return measurements, "; ".join(errors)


def collect_scrape(c: Any, home: Path | None = None) -> tuple[list[Measurement], str]:
    """Scrape every target of job ``c`` once (a new Scraper: file_sd files are read afresh)."""
    return Scraper(c, home)()
