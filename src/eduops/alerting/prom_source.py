"""A Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics, Thanos) as the query engine.

With ``prometheus_url`` set ([monitoring] or [alerting]), rules run their expressions as instant
queries there (``/api/v1/query``) and the metrics query API, CLI and the console's charts use range
queries (``/api/v1/query_range``). The answers take the embedded engine's shapes. A query that
server refuses is a UsageError with its reason; an unreachable server is ServiceUnavailable.
Without ``prometheus_url``, ``query_range_for`` reads the embedded store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eduops.alerting.metric_store import query_range, to_dt
from eduops.alerting.promql_eval import Sample, Vector
from eduops.errors import ServiceUnavailable, UsageError

TIMEOUT = 30.0


def _float(text: Any) -> float:
    return float(text)  # Prometheus writes NaN, +Inf, -Inf, which float() reads


class PrometheusAPI:
    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        import requests

        try:
            answer = requests.post(self.url + path, data=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"cannot reach Prometheus at {self.url} ({type(exc).__name__})") from None
        try:
            body = answer.json()
        except ValueError:
            raise ServiceUnavailable(f"{self.url}{path} answered HTTP {answer.status_code}, not JSON") from None
        if body.get("status") != "success":
            message = f"{body.get('errorType', 'error')}: {body.get('error', answer.text[:300])}"
            if answer.status_code in (400, 422):
                raise UsageError(f"Prometheus refused the query: {message}")
            raise ServiceUnavailable(f"Prometheus at {self.url}: {message}")
        return body["data"]

    def instant(self, expr: str, at: float) -> Vector | float:
        """The expression at ``at``: a vector (labels with __name__ where kept) or a scalar."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return _float(result[1])
        if kind != "vector":
            raise UsageError(f"{expr!r} gives a {kind}; a rule needs an instant vector or a scalar")
        return [Sample(tuple(sorted(r["metric"].items())), _float(r["value"][1])) for r in result]

    def query_range(self, expr: str, start: datetime, end: datetime, step: float) -> list[dict[str, Any]]:
        """The embedded ``query_range`` shape: [{"metric": {...}, "points": [[iso, value], ...]}]."""
        if step <= 0:
            raise UsageError("step must be positive")
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}", "step": f"{step:g}"},
        )
        if data["resultType"] != "matrix":
            raise UsageError(f"{expr!r} gives a {data['resultType']} over a range")
        out = [
            {"metric": dict(r["metric"]), "points": [[to_dt(float(t)).isoformat(), _float(v)] for t, v in r["values"]]}
            for r in data["result"]
        ]
        return sorted(out, key=lambda x: sorted(x["metric"].items()))


def remote_for(settings: Any) -> PrometheusAPI | None:
    from eduops.alerting.settings import alerting_settings

    url = alerting_settings(settings).prometheus_url
    return PrometheusAPI(url) if url else None


def query_range_for(ws: Any, expr: str, start: datetime, end: datetime, step: float) -> list[dict[str, Any]]:
    """Range query on the configured engine: the team's Prometheus, or the embedded store."""
    remote = remote_for(ws.settings)
    if remote is not None:
        return remote.query_range(expr, start, end, step)
    return query_range(ws.engine, expr, start, end, step)
