"""Scraping Prometheus exporters (node_exporter and others) with prometheus-client's text parser."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from eduops.core.checks import Measurement

MAX_SERIES = 20000


def parse_exposition(text: str, instance: str) -> list[Measurement]:
    """Every sample of a text exposition as a measurement labelled with ``instance``."""
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if math.isnan(sample.value):
                continue
            out.append(
                Measurement(
                    sample.name,
                    float(sample.value),
                    family.unit or "",
                    {**{k: str(v) for k, v in sample.labels.items()}, "instance": instance},
                )
            )
            if len(out) >= MAX_SERIES:
                return out
    return out


def collect_scrape(c: Any) -> tuple[list[Measurement], str]:
    labels = {"instance": c.name}
    t0 = time.perf_counter()
    try:
        response = httpx.get(c.url, timeout=c.timeout, headers={"Accept": "text/plain;version=0.0.4"})
        response.raise_for_status()
        samples = parse_exposition(response.text, c.name)
    except (httpx.HTTPError, ValueError) as exc:
        return [Measurement("scrape_up", 0.0, "", labels)], f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - t0) * 1000
    return samples + [
        Measurement("scrape_up", 1.0, "", labels),
        Measurement("scrape_duration_ms", round(ms, 3), "ms", dict(labels)),
        Measurement("scrape_samples", float(len(samples)), "", dict(labels)),
    ], ""
