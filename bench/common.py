"""What the benchmarks share: where the repo is, machine facts, the simulator's request count, another process's CPU
time, this process's peak RSS (VmHWM), blob totals, and one measured phase with the servers' CPU time around it."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
WORKER_TIMEOUT = 1800.0


def storage_blobs(connection_string: str, container: str) -> tuple[int, int]:
    """(count, bytes) of the content blobs in the container (not the journal): a cross-check of what the workers
    counted."""
    from azure.storage.blob import ContainerClient

    from core.storage.content_store import CONTENT_PREFIXES

    client = ContainerClient.from_connection_string(connection_string, container)
    try:
        count = size = 0
        for blob in (b for prefix in CONTENT_PREFIXES for b in client.list_blobs(name_starts_with=prefix)):
            count += 1
            size += blob.size
        return count, size
    finally:
        client.close()


def graph_requests(stats: dict[str, Any]) -> int:
    """HTTP requests the simulator answered (a $batch is one), sign-in (token) requests excluded."""
    return int(stats["total"]) - int(stats.get("batched", 0)) - int(stats["by_kind"].get("token", 0))


def graph_counted(stats: dict[str, Any]) -> int:
    """Requests Graph counts against its limits: each request inside a $batch is one, the envelope is not
    (https://learn.microsoft.com/graph/throttling#throttling-and-batching); sign-in excluded."""
    by = stats["by_kind"]
    return int(stats["total"]) - int(by.get("batch", 0)) - int(by.get("token", 0))


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of another process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_bytes() -> int:
    """This process's own resident-memory high-water mark: VmHWM in /proc/self/status (Linux). Not ru_maxrss: a
    forked child's ru_maxrss starts from its parent's RSS at the fork, so a 13 MiB worker forked from a 200 MiB
    parent reported 213 MiB. Elsewhere ru_maxrss is all there is (KiB on Linux, bytes on macOS)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # "VmHWM:   13312 kB"
    except (OSError, ValueError, IndexError):
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def machine_facts() -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def server_phase(sim: Any, azurite: Any, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measured step (`run`, usually a worker process) with the simulator's request statistics reset before
    it and read after it, and the simulator's and Azurite's CPU time over it."""
    sim.control.reset_stats()
    servers = {"simulator": sim.pid, "azurite": azurite.process.pid}
    before = {k: process_cpu_s(pid) for k, pid in servers.items()}
    result = run()
    after = {k: process_cpu_s(pid) for k, pid in servers.items()}
    result["server_cpu_s"] = {
        k: (after[k] - before[k]) if after[k] is not None and before[k] is not None else None for k in servers
    }
    result["sim"] = sim.control.stats()
    result["requests"] = graph_requests(result["sim"])
    result["counted"] = graph_counted(result["sim"])
    return result
