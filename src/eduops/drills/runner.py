"""Carrying out a drill: steady state, inject, watch for the alert, roll back (always), wait for recovery.

Probes and the alert rule are evaluated on a fixed grid (every ``evaluation_interval``), as eduops's rule
engine does, so the time to detect can be compared with the rule's ``for`` plus one interval.
``ABORT`` (set by Ctrl-C/SIGTERM in the CLI) ends the drill early; rollbacks still run.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eduops.core.i18n import msg
from eduops.drills import faults
from eduops.drills.detect import AlertWatch, Sample, StoredAlertWatch, find_rule, stored_alert_fired
from eduops.drills.experiment import Activity, Experiment
from eduops.drills.probes import PROBES, ProbeResult, within
from eduops.drills.proxy import Proxy, split_address
from eduops.drills.timing import expected_ttd, ttd_consistent
from eduops.drills.tlsca import TestTLSServer, make_test_chain
from eduops.drills.validate import validate

ABORT = threading.Event()
Progress = Callable[[str, float], None]


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


@dataclass
class Drill:
    exp: Experiment
    state_file: Path
    workdir: Path
    engine: Any = None
    settings: Any = None
    progress: Progress = lambda message, fraction: None
    journal: list[dict[str, Any]] = field(default_factory=list)
    active: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (action, fault, handle)
    injected_at: float | None = None
    probe_failed_at: float | None = None
    detected_at: float | None = None
    detected_by: str = ""
    rollback_at: float | None = None
    recovered_at: float | None = None
    probe_ms_max: float = 0.0
    watch: AlertWatch | None = None
    started_at: float = 0.0
    _next_eval: float = 0.0
    _last_state: str = ""
    live: faults.Live | None = None

    def log(self, phase: str, event: str, detail: str = "", ok: bool | None = None) -> None:
        self.journal.append({"at": _iso(time.time()), "t": round(time.time(), 3), "phase": phase, "event": event,
                             "detail": detail, "ok": ok})

    # ---------------------------------------------------------------- probes and evaluation
    def probe(self, a: Activity) -> tuple[ProbeResult, bool]:
        started = time.perf_counter()
        result = PROBES[str(a.provider["type"])](self.resolve(a.provider))
        self.probe_ms_max = max(self.probe_ms_max, (time.perf_counter() - started) * 1000)
        return result, within(result, a.tolerance)

    def resolve(self, provider: dict[str, Any]) -> dict[str, Any]:
        """Fill in ``{proxy.NAME}`` (its host:port), ``{tls.NAME}`` and ``{tls.NAME.ca}`` in string arguments."""
        names: dict[str, str] = {}
        if self.live is not None:
            for name, proxy in self.live.proxies.items():
                if proxy.bound:
                    names[f"{{proxy.{name}}}"] = f"{proxy.bound[0]}:{proxy.bound[1]}"
            for name, server in self.live.servers.items():
                names[f"{{tls.{name}}}"] = server.address
                names[f"{{tls.{name}.ca}}"] = server.chain["ca"]
        out = {}
        for key, value in provider.items():
            if isinstance(value, str):
                for placeholder, real in names.items():
                    value = value.replace(placeholder, real)
            out[key] = value
        return out

    def evaluate(self, phase: str, ts: float | None = None) -> bool:
        """One evaluation at grid time ``ts``: every steady-state probe, its metric into the alert rule.

        Like Prometheus, the evaluation is stamped with its scheduled time, not the moment it ran.
        Returns whether the steady state holds.
        """
        ts = time.time() if ts is None else ts
        if self.injected_at is not None and ts < self.injected_at:  # a slot that fell due during the injection
            ts = time.time()
        samples, steady, failures = [], True, []
        for a in self.exp.probes:
            result, good = self.probe(a)
            steady &= good
            if not good:
                failures.append(f"{a.name}: {result.detail}")
            if a.metric:
                value = float(result.ok) if a.metric.get("value", "ok") == "ok" else result.value
                samples.append(Sample(str(a.metric["name"]), {str(k): str(v) for k, v in
                                                              (a.metric.get("labels") or {}).items()}, value))
        state = self.watch.observe(ts, samples) if self.watch else ""
        if self.injected_at is not None and self.rollback_at is None and not steady and self.probe_failed_at is None:
            self.probe_failed_at = ts
            self.log(phase, "steady state lost", "; ".join(failures), False)
        if self.injected_at is not None and self.detected_at is None:
            if self.watch and self.watch.fired_at is not None:
                self.detected_at, self.detected_by = self.watch.fired_at, f"alert {self.exp.detection.alert}"
            elif self.watch is None and self.probe_failed_at is not None:
                self.detected_at, self.detected_by = self.probe_failed_at, "steady-state probe"
            elif self.exp.detection.alert:
                stored = stored_alert_fired(self.engine, self.exp.detection.alert, self.exp.detection.labels,
                                            datetime.fromtimestamp(self.injected_at, UTC))
                if stored is not None:
                    self.detected_at, self.detected_by = stored.timestamp(), "stored alert"
            if self.detected_at is not None:
                self.log(phase, "detected", f"by {self.detected_by} after "
                         f"{self.detected_at - self.injected_at:.1f} s", True)
        if self.rollback_at is not None and steady and self.recovered_at is None:
            self.recovered_at = ts
            self.log(phase, "steady state back", f"{ts - (self.injected_at or ts):.1f} s after the injection", True)
        if state and self.watch and state != self._last_state:
            self.log(phase, f"alert {self.exp.detection.alert} {state}", "", None)
            self._last_state = state
        return steady

    def wait(self, seconds: float, phase: str, until: Callable[[], bool] = lambda: False) -> None:
        """Let time pass on the evaluation grid until ``seconds`` are over or ``until()`` holds."""
        deadline = time.time() + seconds
        while not ABORT.is_set():
            now = time.time()
            if now >= self._next_eval:
                self.evaluate(phase, self._next_eval)
                self._next_eval += self.exp.detection.evaluation_interval_s
                while self._next_eval < time.time():  # probes slower than the interval: skip missed slots
                    self._next_eval += self.exp.detection.evaluation_interval_s
                if until():
                    return
            if time.time() >= deadline:
                return
            ABORT.wait(max(0.0, min(self._next_eval, deadline) - time.time()))  # wakes at once on Ctrl-C

    # ---------------------------------------------------------------- the drill
    def run(self) -> dict[str, Any]:
        exp = self.exp
        validate(exp)
        self.started_at = time.time()
        for line in faults.recover_leftovers(self.state_file):
            self.log("start", "cleaned up a leftover fault", line, True)
        live = self.live = faults.Live(self.state_file, self.workdir)
        if exp.detection.alert:
            base = Path(exp.source).parent
            rule = find_rule(exp.detection.alert, [base / r for r in exp.detection.rules])
            if self.engine is not None and self.settings is not None:
                self.watch = StoredAlertWatch(rule, exp.detection.labels, self.engine, self.settings,
                                              exp.detection.evaluation_interval_s)
            else:
                self.watch = AlertWatch(rule, exp.detection.labels)
        undo_at_exit = lambda: self.rollback(live, "exit")  # noqa: E731 - the last resort if the process ends
        atexit.register(undo_at_exit)
        steady_before = False
        try:
            for p in exp.environment.get("proxies") or []:
                live.proxies[str(p["name"])] = Proxy(str(p["name"]), str(p["listen"]), str(p["upstream"]),
                                                     str(p.get("protocol", "tcp"))).start()
                self.log("start", f"proxy {p['name']} started", f"{p['listen']} → {p['upstream']}")
            for t in exp.environment.get("tls_servers") or []:
                host, port = split_address(str(t.get("listen", "127.0.0.1:0")))
                chain = make_test_chain(self.workdir / f"tls-{t['name']}", str(t.get("host", host)))
                live.servers[str(t["name"])] = TestTLSServer(host, port, chain)
                self.log("start", f"TLS server {t['name']} started", live.servers[str(t["name"])].address)
            self._next_eval = time.time()
            self.progress("checking the steady state", 0.05)
            steady_before = self.evaluate("before")
            self.log("before", "steady state" + (" holds" if steady_before else " does NOT hold"), exp.hypothesis_title,
                     steady_before)
            if steady_before:
                self.run_method(live)
        finally:
            self.progress("rolling back", 0.7)
            self.rollback(live, "rollback")
            atexit.unregister(undo_at_exit)
            if steady_before and not ABORT.is_set():
                self.progress("waiting for the steady state", 0.8)
                self.wait(exp.detection.recover_timeout_s, "recovery", until=self._recovered)
            for proxy in live.proxies.values():
                proxy.stop()
            for server in live.servers.values():
                server.stop()
            self.log("end", "drill finished" if not ABORT.is_set() else "drill interrupted")
        return self.report(steady_before)

    def _recovered(self) -> bool:
        return self.recovered_at is not None and (self.watch is None or self.watch.fired_at is None
                                                  or self.watch.resolved_at is not None)

    def run_method(self, live: faults.Live) -> None:
        exp = self.exp
        for i, a in enumerate(exp.method):
            if ABORT.is_set():
                return
            self.progress(f"method: {a.name}", 0.1 + 0.3 * i / len(exp.method))
            self.wait(a.pause_before_s, "method")
            if a.kind == "action":
                handle = faults.inject(live, str(a.provider["name"]), self.resolve(a.provider))
                self.active.append((a.name, str(a.provider["name"]), handle))
                if self.injected_at is None:
                    self.injected_at = time.time()
                self.log("method", f"injected {a.provider['name']}", f"{a.name}: {handle}", True)
            elif a.kind == "probe":
                result, good = self.probe(a)
                self.log("method", f"probe {a.name}", result.detail, good)
            self.wait(a.pause_after_s, "method")
        self.progress("watching for the alert", 0.45)
        self.wait(exp.detection.timeout_s, "detection", until=lambda: self.detected_at is not None)
        if self.detected_at is None:
            self.log("detection", "not detected", f"nothing fired within {exp.detection.timeout_s:.0f} s", False)

    def rollback(self, live: faults.Live, phase: str) -> None:
        """The experiment's rollbacks, then anything still injected. Never raises; each step is journaled."""
        for a in self.exp.rollbacks if phase == "rollback" else []:
            if a.kind == "pause":
                ABORT.wait(min(a.pause_after_s, 60))
                continue
            try:
                if a.provider["type"] == "revert":
                    self._revert(live, str(a.provider["action"]), phase)
                else:
                    handle = faults.inject(live, str(a.provider["name"]), a.provider)
                    faults.revert(live, str(a.provider["name"]), handle)  # a fault used as a rollback step
                    self.log(phase, f"rollback {a.name}", "", True)
            except Exception as exc:  # noqa: BLE001 - the next rollback must still run
                self.log(phase, f"rollback {a.name} failed", str(exc), False)
        for name, _, _ in list(self.active):
            self._revert(live, name, phase)
        if self.rollback_at is None and self.injected_at is not None:
            self.rollback_at = time.time()

    def _revert(self, live: faults.Live, action: str, phase: str) -> None:
        for entry in [e for e in self.active if e[0] == action]:
            try:
                faults.revert(live, entry[1], entry[2])
                self.log(phase, f"reverted {entry[1]}", action, True)
            except Exception as exc:  # noqa: BLE001
                self.log(phase, f"reverting {entry[1]} failed", f"{action}: {exc}", False)
            self.active.remove(entry)

    def report(self, steady_before: bool) -> dict[str, Any]:
        exp, det = self.exp, self.exp.detection
        inj = self.injected_at
        ttd = self.detected_at - inj if inj is not None and self.detected_at is not None else None
        ttr = self.recovered_at - inj if inj is not None and self.recovered_at is not None else None
        reasons: list[str] = []
        window = None
        if not steady_before:
            reasons.append(msg("the steady state did not hold before the fault; nothing was injected"))
        if ABORT.is_set():
            reasons.append(msg("the drill was interrupted; rollbacks ran"))
        if steady_before and ttd is None:
            reasons.append(msg("the fault was not detected within {timeout_s:.0f} s", timeout_s=det.timeout_s))
        if steady_before and ttr is None:
            reasons.append(msg(
                    "the steady state did not come back within {recover_timeout_s:.0f} s of the rollback",
                    recover_timeout_s=det.recover_timeout_s,
                ))
        if self.watch is not None:
            window = expected_ttd(self.watch.hold_s, det.evaluation_interval_s, self.probe_ms_max / 1000)
        consistent = ttd_consistent(ttd, window) if window and self.detected_by.startswith("alert") else None
        if consistent is False and window is not None and ttd is not None:
            reasons.append(msg(
                    "time to detect {ttd:.1f} s is outside the expected {value:.0f}–{value2:.1f} s (rule "
                    "`for` + evaluation interval)",
                    ttd=ttd, value=window[0], value2=window[1],
                ))
        return {
            "title": exp.title, "description": exp.description, "source": exp.source,
            "started_at": _iso(self.started_at), "injected_at": _iso(inj), "detected_at": _iso(self.detected_at),
            "detected_by": self.detected_by, "rollback_at": _iso(self.rollback_at),
            "recovered_at": _iso(self.recovered_at),
            "ttd_s": round(ttd, 2) if ttd is not None else None, "ttr_s": round(ttr, 2) if ttr is not None else None,
            "probe_ttd_s": round(self.probe_failed_at - inj, 2) if inj and self.probe_failed_at else None,
            "alert": None if self.watch is None else {
                "name": det.alert, "labels": det.labels, "for_s": self.watch.hold_s,
                "evaluation_interval_s": det.evaluation_interval_s, "rule_source": self.watch.rule.source,
                "evaluated_by": "eduops alert engine" if isinstance(self.watch, StoredAlertWatch) else "in-memory",
                "fired_at": _iso(self.watch.fired_at), "resolved_at": _iso(self.watch.resolved_at),
                "expected_ttd_s": list(window) if window else None, "consistent": consistent},
            "steady_state_before": steady_before, "passed": not reasons, "reasons": reasons,
            "journal": self.journal,
        }
