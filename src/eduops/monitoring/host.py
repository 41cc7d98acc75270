"""Host measurements through psutil, and the pure judgement of them against thresholds."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from eduops.core.checks import Finding, Measurement, Severity
from eduops.core.i18n import msg

# pseudo and read-only image file systems say nothing about free space
SKIP_FSTYPES = {
    "squashfs",
    "tmpfs",
    "devtmpfs",
    "overlay",
    "proc",
    "sysfs",
    "iso9660",
    "nsfs",
    "fuse.snapfuse",
}


@dataclass(frozen=True)
class HostThresholds:
    cpu_warn_pct: float = 85
    memory_warn_pct: float = 90
    disk_warn_pct: float = 85
    disk_crit_pct: float = 95
    inode_warn_pct: float = 85
    inode_crit_pct: float = 95
    swap_warn_pct: float = 80


def mounts() -> list[str]:
    seen: set[str] = set()
    found = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in SKIP_FSTYPES or part.mountpoint in seen or part.device.startswith("/dev/loop"):
            continue
        seen.add(part.mountpoint)
        found.append(part.mountpoint)
    return found


def collect_host(sample_seconds: float = 0.5, host: str = "") -> list[Measurement]:
    """One snapshot of this machine; rates (CPU, network) are measured over ``sample_seconds``."""
    labels = {"host": host} if host else {}
    psutil.cpu_percent(interval=None)
    net_before = psutil.net_io_counters(pernic=True)
    t0 = time.monotonic()
    time.sleep(sample_seconds)  # a rate needs two readings; this is the measuring window, not a wait
    cpu = psutil.cpu_percent(interval=None)
    net_after = psutil.net_io_counters(pernic=True)
    elapsed = max(time.monotonic() - t0, 1e-6)
    out = [Measurement("cpu_used_pct", cpu, "%", dict(labels))]
    load1, load5, load15 = os.getloadavg()
    cores = psutil.cpu_count() or 1
    out += [
        Measurement("load1", load1, "", dict(labels)),
        Measurement("load5", load5, "", dict(labels)),
        Measurement("load15", load15, "", dict(labels)),
        Measurement("cpu_cores", float(cores), "", dict(labels)),
    ]
    mem = psutil.virtual_memory()
    swap = psutil.swap_memory()
    out += [
        Measurement("memory_used_pct", mem.percent, "%", dict(labels)),
        Measurement("memory_available_bytes", float(mem.available), "bytes", dict(labels)),
        Measurement("memory_total_bytes", float(mem.total), "bytes", dict(labels)),
        Measurement("swap_used_pct", swap.percent, "%", dict(labels)),
    ]
    for mount in mounts():
        ml = {**labels, "mount": mount}
        usage = psutil.disk_usage(mount)
        out += [
            Measurement("disk_used_pct", usage.percent, "%", dict(ml)),
            Measurement("disk_free_bytes", float(usage.free), "bytes", dict(ml)),
            Measurement("disk_total_bytes", float(usage.total), "bytes", dict(ml)),
        ]
        st = os.statvfs(mount)
        if st.f_files:
            used = st.f_files - st.f_ffree
            out.append(Measurement("disk_inodes_used_pct", 100.0 * used / st.f_files, "%", dict(ml)))
    for nic, after in net_after.items():
        before = net_before.get(nic)
        if before is None:
            continue
        nl = {**labels, "interface": nic}
        out += [
            Measurement(
                "net_rx_bytes_per_s",
                max(after.bytes_recv - before.bytes_recv, 0) / elapsed,
                "bytes/s",
                dict(nl),
            ),
            Measurement(
                "net_tx_bytes_per_s",
                max(after.bytes_sent - before.bytes_sent, 0) / elapsed,
                "bytes/s",
                dict(nl),
            ),
            Measurement(
                "net_errors_total",
                float(after.errin + after.errout + after.dropin + after.dropout),
                "",
                dict(nl),
            ),
        ]
    out.append(Measurement("uptime_seconds", time.time() - psutil.boot_time(), "s", dict(labels)))
    return out


def judge_host(measurements: list[Measurement], limits: HostThresholds) -> list[Finding]:
    """Findings for the measurements that cross a threshold (pure: table-tested)."""
    findings: list[Finding] = []
    for m in measurements:
        where = m.labels.get("mount", "")
        if m.name == "cpu_used_pct" and m.value >= limits.cpu_warn_pct:
            findings.append(
                Finding(
                    "warn",
                    msg("CPU {value:.0f}% busy", value=m.value),
                    msg("threshold {cpu_warn_pct:.0f}%", cpu_warn_pct=limits.cpu_warn_pct),
                    "find the busy processes with `top -o %CPU`; add cores or move load",
                )
            )
        elif m.name == "memory_used_pct" and m.value >= limits.memory_warn_pct:
            findings.append(
                Finding(
                    "warn",
                    msg("memory {value:.0f}% used", value=m.value),
                    msg("threshold {memory_warn_pct:.0f}%", memory_warn_pct=limits.memory_warn_pct),
                    "find the largest processes with `ps aux --sort=-rss | head`; add memory",
                )
            )
        elif m.name == "swap_used_pct" and m.value >= limits.swap_warn_pct:
            findings.append(
                Finding(
                    "warn",
                    msg("swap {value:.0f}% used", value=m.value),
                    msg("threshold {swap_warn_pct:.0f}%", swap_warn_pct=limits.swap_warn_pct),
                    "the machine is short of memory; restart leaking services or add memory",
                )
            )
        elif m.name == "disk_used_pct" and m.value >= limits.disk_warn_pct:
            severity: Severity = "crit" if m.value >= limits.disk_crit_pct else "warn"
            findings.append(
                Finding(
                    severity,
                    msg("disk {where} {value:.0f}% full", where=where, value=m.value),
                    msg(
                        "thresholds warn {disk_warn_pct:.0f}%, crit {disk_crit_pct:.0f}%",
                        disk_warn_pct=limits.disk_warn_pct, disk_crit_pct=limits.disk_crit_pct,
                    ),
                    msg(
                        "free space on {where}: `du -xh {where} | sort -h | tail`, rotate logs, prune "
                        "old backups, or grow the volume",
                        where=where,
                    ),
                )
            )
        elif m.name == "disk_inodes_used_pct" and m.value >= limits.inode_warn_pct:
            severity_i: Severity = "crit" if m.value >= limits.inode_crit_pct else "warn"
            findings.append(
                Finding(
                    severity_i,
                    msg("inodes on {where} {value:.0f}% used", where=where, value=m.value),
                    "",
                    msg(
                        "many small files on {where}: find them with `find {where} -xdev -type f | cut "
                        "-d/ -f2-3 | sort | uniq -c | sort -n`",
                        where=where,
                    ),
                )
            )
    return findings
