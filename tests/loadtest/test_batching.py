"""Throughput scenarios hand Locust their requests in batches: the stats must equal logging each request.

Locust (gevent) is imported only in a child process, as the load generator does; one child checks every case.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CASES = {
    "one fast request": [0.4],
    "every bucket width": [0.6, 3.2, 99.4, 147.0, 999.0, 3432.0, 58760.0],
    "repeats share buckets": [12.0, 12.4, 11.6, 250.0, 254.0],
}

CHILD = """
import json, sys
from locust.stats import RequestStats
from eduops.loadtest.batching import Batch, batch_entry

out = {}
for case, times in json.loads(sys.argv[1]).items():
    one_by_one, batched = RequestStats(), RequestStats()
    for ms in times:
        one_by_one.log_request("GET", "static file", ms, 10)
    entry = batch_entry(batched, "GET", "static file", times, 10 * len(times), 1_000_000.0)
    batched.total.extend(entry)
    batched.get("static file", "GET").extend(entry)
    def view(stats):
        e = stats.get("static file", "GET")
        return [stats.total.num_requests, e.num_requests, round(e.total_response_time, 6), e.min_response_time,
                e.max_response_time, e.total_content_length, sorted(e.response_times.items()),
                sorted(stats.total.response_times.items())]
    out[case] = [view(one_by_one), view(batched)]
# a failure is counted as a request and as an error, flushed at once
stats = RequestStats()
batch = Batch(stats, "GET", "static file")
batch.ok(0.0, 0.002, 5)
batch.failed(0.0, 0.004, "HTTP 404")
out["failure"] = [stats.total.num_requests, stats.total.num_failures,
                  [str(e.error) for e in stats.errors.values()], batch.times]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def child() -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CASES)], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_a_batch_counts_like_one_log_per_request(child: dict, case: str) -> None:
    one_by_one, batched = child[case]
    assert batched == one_by_one
    assert batched[0] == len(CASES[case])


def test_a_failed_request_flushes_the_batch_and_logs_its_error(child: dict) -> None:
    requests, failures, errors, pending = child["failure"]
    assert (requests, failures, errors, pending) == (2, 1, ["HTTP 404"], [])
