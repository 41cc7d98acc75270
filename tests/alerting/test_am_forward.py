"""Sending to Alertmanager the way Prometheus's notifier does: when an alert is due, what endsAt says."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eduops.alerting.alertmanager import AMAlert
from eduops.alerting.am_forward import Forwarder, api_alert, needs_sending, valid_until
from eduops.alerting.settings import AlertingSettings


@pytest.mark.parametrize(
    ("resolved_at", "last_sent", "now", "expected"),
    [
        (None, None, 0, True),  # never sent
        (None, 100, 130, False),  # within the resend delay
        (None, 100, 160, False),  # exactly at it: Prometheus sends strictly after
        (None, 100, 160.5, True),
        (120, 100, 121, True),  # resolved since it was last sent
        (90, 100, 130, False),  # resolved before the last send: that send carried it
    ],
)
def test_needs_sending(resolved_at: float | None, last_sent: float | None, now: float, expected: bool) -> None:
    assert needs_sending(resolved_at, last_sent, 60, now) is expected


@pytest.mark.parametrize(("resend", "interval", "expected"), [(60, 30, 1240), (60, 120, 1480), (10, 5, 1040)])
def test_valid_until_is_four_periods_ahead(resend: float, interval: float, expected: float) -> None:
    assert valid_until(1000, resend, interval) == expected


def test_api_alert_carries_end_times() -> None:
    firing = api_alert(AMAlert("f", {"alertname": "A"}, {"summary": "s"}, 0.0), 100.0, 60, 30, "http://e/alerts/f")
    assert firing == {
        "labels": {"alertname": "A"},
        "annotations": {"summary": "s"},
        "startsAt": "1970-01-01T00:00:00.000Z",
        "endsAt": "1970-01-01T00:05:40.000Z",  # 100 + 4 × 60
        "generatorURL": "http://e/alerts/f",
    }
    resolved = api_alert(AMAlert("f", {"alertname": "A"}, {}, 0.0, 50.0), 100.0, 60, 30, "")
    assert resolved["endsAt"] == "1970-01-01T00:00:50.000Z"


def test_a_failed_post_marks_nothing_sent_and_waits_before_retrying() -> None:
    answers = [(False, "HTTP 503"), (True, ""), (True, "")]
    posted: list[int] = []

    def post(url: str, body: list[dict[str, object]]) -> tuple[bool, str]:
        posted.append(len(body))
        return answers.pop(0)

    f = Forwarder("http://am:9093", "http://eduops", post=post)
    alerts = [AMAlert("a", {"alertname": "A"}, {}, 0.0), AMAlert("b", {"alertname": "B"}, {}, 0.0)]
    assert f.forward(alerts, 10.0) == 0 and f.last_error == "HTTP 503"
    assert f.forward(alerts, 12.0) == 0 and posted == [2]  # waiting RETRY_SECONDS
    assert f.forward(alerts, 15.0) == 2 and f.last_error == ""
    assert f.forward(alerts[:1], 100.0) == 1 and set(f.last_sent) == {"a"}  # b is gone: forgotten


def test_alertmanager_url_must_be_http() -> None:
    assert AlertingSettings.model_validate({"alertmanager_url": "http://am:9093/"}).alertmanager_url == "http://am:9093"
    with pytest.raises(ValidationError, match="Alertmanager's base URL"):
        AlertingSettings.model_validate({"alertmanager_url": "am:9093"})


def test_prometheus_url_is_read_from_monitoring_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eduops.alerting.settings import alerting_settings
    from eduops.config import load_settings
    from eduops.monitoring.settings import monitoring_settings

    (tmp_path / "eduops.toml").write_text('[monitoring]\nprometheus_url = "http://prom:9090/"\n')
    settings = load_settings(tmp_path / "eduops.toml", home=str(tmp_path))
    assert alerting_settings(settings).prometheus_url == "http://prom:9090"
    assert monitoring_settings(settings).scrape == []  # [monitoring] itself still loads
