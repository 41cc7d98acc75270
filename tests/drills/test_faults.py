"""Faults inject and revert; the ready-made TLS and media drills work end to end on local stand-ins."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from eduops.drills import faults
from eduops.drills.experiment import load_experiment
from eduops.drills.runner import Drill
from eduops.drills.service import READY_MADE


def _wait_for(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_kill_a_process_and_bring_it_back(tmp_path: Path) -> None:
    marker, name = tmp_path / "restarted", f"eduops-drill-victim-{uuid.uuid4().hex}"
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", name])
    try:
        _wait_for(lambda: name.encode() in Path(f"/proc/{victim.pid}/cmdline").read_bytes())
        live = faults.Live(tmp_path / "state.json", tmp_path)
        handle = faults.inject(live, "process.kill", {"match": name, "restart": ["touch", str(marker)]})
        assert handle["pids"] == [victim.pid]
        assert victim.wait(timeout=5) == -9
    finally:
        victim.kill()
        victim.wait()
    faults.revert(live, "process.kill", handle)
    _wait_for(marker.exists)
    assert faults._read(tmp_path / "state.json") == []


def test_stop_a_service_with_its_commands(tmp_path: Path) -> None:
    flag = tmp_path / "running"
    flag.write_text("yes")
    live = faults.Live(tmp_path / "state.json", tmp_path)
    handle = faults.inject(live, "service.stop", {"stop": ["rm", str(flag)], "start": ["touch", str(flag)]})
    assert not flag.exists()
    faults.revert(live, "service.stop", handle)
    assert flag.exists()
    with pytest.raises(RuntimeError, match="failed"):
        faults.inject(live, "service.stop", {"stop": ["false"], "start": ["true"]})


def test_disk_fill_never_passes_keep_free(tmp_path: Path) -> None:
    live = faults.Live(tmp_path / "state.json", tmp_path)
    handle = faults.inject(live, "disk.fill", {"path": str(tmp_path / "fill"), "size": "1TB", "keep_free": "1TB"})
    assert handle["capped"] is True and Path(handle["file"]).stat().st_size == handle["bytes"]
    faults.revert(live, "disk.fill", handle)
    assert not Path(handle["file"]).exists()


def test_the_certificate_expired_drill(tmp_path: Path) -> None:
    exp, _ = load_experiment(READY_MADE / "certificate-expired.yml")
    exp.environment["tls_servers"][0]["listen"] = "127.0.0.1:0"
    exp.detection.evaluation_interval_s = 0.5
    report = Drill(exp, tmp_path / "state.json", tmp_path).run()
    assert report["passed"], report["reasons"]
    assert report["detected_by"] == "alert CertificateExpiringSoon"  # cert_days_left < 14, no `for`
    assert report["ttd_s"] <= 1.5 and report["ttr_s"] <= report["ttd_s"] + 1.5
    lost = next(e for e in report["journal"] if e["event"] == "steady state lost")
    assert "certificate has expired" in lost["detail"]


def test_the_media_packet_loss_drill(tmp_path: Path, udp_echo: str) -> None:
    exp, _ = load_experiment(READY_MADE / "media-packet-loss.yml")
    exp.environment["proxies"][0].update(listen="127.0.0.1:0", upstream=udp_echo)
    exp.detection.evaluation_interval_s = 0.5
    exp.probes[0].provider.update(count=20, timeout=0.2)
    report = Drill(exp, tmp_path / "state.json", tmp_path).run()
    assert report["passed"], report["reasons"]
    assert report["detected_by"] == "steady-state probe" and report["alert"] is None
    lost = next(e for e in report["journal"] if e["event"] == "steady state lost")
    assert "% lost" in lost["detail"]
