"""Scraping like Prometheus: job/instance labels, exported_* or honor_labels, many targets, file_sd
files re-read when they change, relabelling, up and scrape_duration_seconds — and the same label
sets as the real Prometheus (Debian's 2.42) scraping the same exporters with the same config."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.alerting.realstack import poll, prometheus

from eduops.monitoring.relabel import RelabelRule, relabel, sample_labels, target_labels
from eduops.monitoring.scrape import Scraper
from eduops.monitoring.settings import ScrapeCollector

EXPOSITION = """# TYPE app_requests_total counter
app_requests_total{instance="worker-a",job="exporter",path="/api"} 10
app_requests_total{instance="worker-b",job="exporter",path="/api"} 20
# TYPE app_temp gauge
app_temp{zone="x"} 21.5
"""


@contextmanager
def exporter(text: str = EXPOSITION) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def series(measurements) -> dict[tuple, float]:  # type: ignore[no-untyped-def,type-arg]
    return {(m.name, tuple(sorted(m.labels.items()))): m.value for m in measurements}


@pytest.mark.parametrize(
    ("labels", "rules", "expected"),
    [
        ({"a": "1"}, [RelabelRule(("a",), regex="1", action="keep")], {"a": "1"}),
        ({"a": "10"}, [RelabelRule(("a",), regex="1", action="keep")], None),  # anchored: 10 is not 1
        ({"a": "1"}, [RelabelRule(("a",), regex="1", action="drop")], None),
        ({"a": "x", "b": "y"}, [RelabelRule(("a", "b"), regex="(.*);(.*)", target_label="c", replacement="$2-${1}")],
         {"a": "x", "b": "y", "c": "y-x"}),
        ({"a": "x"}, [RelabelRule(("nope",), regex="z", target_label="c")], {"a": "x"}),  # no match: unchanged
        ({"a": "x", "c": "old"}, [RelabelRule(("nope",), target_label="c")], {"a": "x"}),  # empty result deletes
        ({"__meta_k": "v"}, [RelabelRule(regex="__meta_(.*)", action="labelmap")], {"__meta_k": "v", "k": "v"}),
        ({"a": "1", "b": "2"}, [RelabelRule(regex="a", action="labeldrop")], {"b": "2"}),
        ({"a": "1", "b": "2"}, [RelabelRule(regex="a", action="labelkeep")], {"a": "1"}),
    ],
)  # fmt: skip
def test_relabel(labels: dict[str, str], rules: list[RelabelRule], expected: dict[str, str] | None) -> None:
    assert relabel(labels, rules) == expected


@pytest.mark.parametrize(
    ("exported", "honor", "expected"),
    [
        ({"path": "/"}, False, {"path": "/", "job": "j", "instance": "h:1"}),
        ({"instance": "w", "job": "e"}, False,
         {"instance": "h:1", "job": "j", "exported_instance": "w", "exported_job": "e"}),
        ({"instance": "w", "job": "e"}, True, {"instance": "w", "job": "e"}),
        ({"instance": ""}, False, {"instance": "h:1", "job": "j"}),  # an empty label is no label
    ],
)  # fmt: skip
def test_sample_labels(exported: dict[str, str], honor: bool, expected: dict[str, str]) -> None:
    assert sample_labels(exported, {"job": "j", "instance": "h:1"}, honor) == expected


def test_target_labels_default_instance_to_the_address_and_relabel_can_set_it() -> None:
    got = target_labels("h:9100", "node", "http", "/metrics", {"dc": "bj"}, [])
    assert got is not None and got["instance"] == "h:9100" and got["job"] == "node" and got["dc"] == "bj"
    rule = RelabelRule(("__address__",), regex="(.*):.*", target_label="instance", replacement="$1")
    named = target_labels("h:9100", "node", "http", "/metrics", {}, [rule])
    assert named is not None and named["instance"] == "h" and named["__address__"] == "h:9100"


def test_two_series_from_one_exporter_stay_two_and_carry_job_and_instance() -> None:
    with exporter() as address:
        got = series(Scraper(ScrapeCollector(name="app", targets=[address]))()[0])
    a = ("app_requests_total", (("exported_instance", "worker-a"), ("exported_job", "exporter"),
                                ("instance", address), ("job", "app"), ("path", "/api")))  # fmt: skip
    b = ("app_requests_total", (("exported_instance", "worker-b"), ("exported_job", "exporter"),
                                ("instance", address), ("job", "app"), ("path", "/api")))  # fmt: skip
    assert got[a] == 10 and got[b] == 20
    assert got[("up", (("instance", address), ("job", "app")))] == 1.0
    assert ("scrape_duration_seconds", (("instance", address), ("job", "app"))) in got


def test_honor_labels_keeps_the_exporters_job_and_instance() -> None:
    with exporter() as address:
        got = series(Scraper(ScrapeCollector(name="app", targets=[address], honor_labels=True))()[0])
    assert got[("app_requests_total", (("instance", "worker-b"), ("job", "exporter"), ("path", "/api")))] == 20
    assert got[("app_temp", (("instance", address), ("job", "app"), ("zone", "x")))] == 21.5


def test_many_targets_a_down_one_and_relabelling() -> None:
    with exporter() as one, exporter() as two:
        c = ScrapeCollector.model_validate(
            {
                "name": "app",
                "targets": [one, two, "127.0.0.1:9"],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "regex": f"{two}", "action": "drop"},
                    {"source_labels": ["__address__"], "regex": "127.0.0.1:(.*)", "target_label": "port"},
                ],
                "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "app_temp", "action": "keep"}],
            }
        )
        measurements, why = Scraper(c)()
    got = series(measurements)
    ups = {dict(k[1])["instance"]: v for k, v in got.items() if k[0] == "up"}
    assert ups == {one: 1.0, "127.0.0.1:9": 0.0}  # the second target was dropped by relabelling
    assert "127.0.0.1:9" in why
    assert {k[0] for k in got} == {"app_temp", "up", "scrape_duration_seconds", "scrape_samples_scraped"}
    [temp] = [dict(k[1]) for k in got if k[0] == "app_temp"]
    assert temp["port"] == one.split(":")[1]


def test_file_sd_is_re_read_when_it_changes_and_a_broken_file_keeps_the_last_targets(tmp_path: Path) -> None:
    with exporter() as one, exporter() as two:
        sd = tmp_path / "targets" / "app.json"
        sd.parent.mkdir()
        sd.write_text(json.dumps([{"targets": [one], "labels": {"team": "live"}}]))
        scraper = Scraper(ScrapeCollector(name="app", file_sd=["targets/*.json"]), tmp_path)
        assert [t.labels for t in scraper.targets()] == [{"job": "app", "team": "live", "instance": one}]
        scraper.targets()
        assert scraper.sd.reads == 1  # unchanged: not parsed again
        sd.write_text(json.dumps([{"targets": [one, two]}]))
        os.utime(sd, (sd.stat().st_atime, sd.stat().st_mtime + 5))
        assert sorted(t.labels["instance"] for t in scraper.targets()) == sorted([one, two])
        sd.write_text("[{not json")
        os.utime(sd, (sd.stat().st_atime, sd.stat().st_mtime + 10))
        assert sorted(t.labels["instance"] for t in scraper.targets()) == sorted([one, two])
        _, why = scraper()
        assert "app.json" in why


def test_a_scrape_job_needs_a_target_and_good_relabel_steps() -> None:
    with pytest.raises(ValidationError, match="give url, targets or file_sd"):
        ScrapeCollector(name="x")
    with pytest.raises(ValidationError, match="needs target_label"):
        ScrapeCollector.model_validate({"name": "x", "targets": ["h:1"], "relabel_configs": [{"regex": "a"}]})
    with pytest.raises(ValidationError, match="regex"):
        ScrapeCollector.model_validate(
            {"name": "x", "targets": ["h:1"], "relabel_configs": [{"regex": "(", "action": "drop"}]}
        )


PROM_SCRAPE = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: app
    honor_labels: {honor}
    static_configs:
      - targets: [{one}, {two}]
        labels: {{team: live}}
    relabel_configs:
      - source_labels: [__address__]
        regex: '127.0.0.1:(.*)'
        target_label: port
"""


@pytest.mark.parametrize("honor", [False, True])
def test_label_sets_match_the_real_prometheus(tmp_path: Path, honor: bool) -> None:
    with ExitStack() as stack:
        one, two = stack.enter_context(exporter()), stack.enter_context(exporter())
        c = ScrapeCollector.model_validate(
            {
                "name": "app",
                "targets": [one, two],
                "labels": {"team": "live"},
                "honor_labels": honor,
                "relabel_configs": [
                    {"source_labels": ["__address__"], "regex": "127.0.0.1:(.*)", "target_label": "port"}
                ],
            }
        )
        ours = {(m.name, tuple(sorted(m.labels.items()))) for m in Scraper(c)()[0]}
        prom = stack.enter_context(
            prometheus(tmp_path / "p", PROM_SCRAPE.format(honor=str(honor).lower(), one=one, two=two))
        )
        names = sorted({name for name, _ in ours})

        def theirs() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
            match = '{__name__=~"' + "|".join(names) + '"}'
            found = prom.get("/api/v1/series", **{"match[]": match})["data"]
            return {(s.pop("__name__"), tuple(sorted(s.items()))) for s in found}

        got = poll(lambda: theirs() if len(theirs()) >= len(ours) else None, "Prometheus scraped both targets", 30)
        assert got == ours
