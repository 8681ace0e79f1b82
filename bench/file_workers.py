"""The measured steps of the file benchmark, each run in its own child process (`python -m bench.file_backup
--worker KIND CONFIG RESULT`): a backup, a restore, and the raw stream copy it is compared with. Each reports its
wall and CPU time from the moment its services are ready, and its own peak RSS."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, WORKER_TIMEOUT, peak_rss_bytes

MiB = 1024 * 1024
RAW_BLOCK = 4 * MiB  # the block size of the raw copy (azure-storage-blob's default max_block_size)
RAW_CONTAINER = "rawcopy"


def _rss_now() -> int:
    """This process's resident set now (Linux /proc; 0 elsewhere)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _backup(config: dict[str, Any], mark_ready: Any) -> dict[str, Any]:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup

    services = build_services(load_settings(config["env"]))
    try:
        mark_ready()
        summary = run_backup(services, resources=config["resources"], trigger="bench")
        graph = services.graph.stats()
        written = services.content.counts()  # blobs and bytes this run stored, and deduplicated puts
    finally:
        services.close()
    return {
        "summary": {k: v for k, v in summary.items() if k != "results"},
        "statuses": sorted({r["status"] for r in summary["results"]}),
        "graph_client": graph,
        "written": written,
    }


def _restore(config: dict[str, Any], mark_ready: Any) -> dict[str, Any]:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.restore import restore
    from core.restore_request import RestoreRequest

    services = build_services(load_settings(config["env"]))
    try:
        request = RestoreRequest(
            config["resource"], run_id=config["run_id"], item_ids=tuple(config["item_ids"]), conflict="keep-both"
        )
        mark_ready()
        report = restore(services, request)
        graph = services.graph.stats()
    finally:
        services.close()
    return {"report": report.to_dict(), "graph_client": graph}


def _raw_copy(config: dict[str, Any], mark_ready: Any) -> dict[str, Any]:
    """GET /content with a bearer token, the 302 followed without it, the body staged into a block blob."""
    import ssl
    from urllib.parse import quote, urljoin

    import httpx
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobBlock, ContainerClient

    from core.config import load_settings
    from core.graph.auth import TokenProvider

    settings = load_settings(config["env"])
    tokens = TokenProvider(settings)
    container = ContainerClient.from_connection_string(settings.storage_connection_string, config["container"])
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    blob = container.get_blob_client(config["blob"])
    context = ssl.create_default_context(cafile=settings.ca_bundle or None)
    url = (
        f"{settings.graph_endpoint}/v1.0/drives/{quote(config['drive_id'], safe='')}"
        f"/items/{quote(config['item_id'], safe='')}/content"
    )
    copied = 0
    with httpx.Client(verify=context, timeout=60.0) as http:
        mark_ready()
        first = http.get(url, headers={"Authorization": f"Bearer {tokens.token()}"})
        if first.status_code not in (301, 302, 303, 307, 308):
            raise RuntimeError(f"/content answered {first.status_code}, not a redirect")
        location = urljoin(url, first.headers["Location"])
        blocks: list[BlobBlock] = []
        buffer = bytearray()

        def stage(data: bytes) -> None:
            block_id = f"{len(blocks):08d}"
            blob.stage_block(block_id, data, length=len(data))
            blocks.append(BlobBlock(block_id=block_id))

        with http.stream("GET", location, headers={"Accept-Encoding": "identity"}) as response:
            response.raise_for_status()
            for piece in response.iter_raw():
                copied += len(piece)
                buffer += piece
                while len(buffer) >= RAW_BLOCK:
                    stage(bytes(buffer[:RAW_BLOCK]))
                    del buffer[:RAW_BLOCK]
        if buffer:
            stage(bytes(buffer))
        blob.commit_block_list(blocks)
    size = blob.get_blob_properties().size
    container.close()
    return {"copied_bytes": copied, "blob_bytes": size, "blocks": len(blocks)}


WORKERS = {"backup": _backup, "restore": _restore, "rawcopy": _raw_copy}


def worker(kind: str, config_path: Path, result_path: Path) -> int:
    """Run one measured step of `kind` with the config in `config_path`; write its figures to `result_path`.
    Wall and CPU time count from mark_ready() (services built, clients open) to the end of the step."""
    config = json.loads(config_path.read_text())
    trace = bool(config.get("tracemalloc"))
    if trace:
        import tracemalloc

        tracemalloc.start(12)
    started = time.perf_counter()
    marks: dict[str, Any] = {}

    def mark_ready() -> None:
        marks["ready"] = time.perf_counter()
        marks["cpu"] = resource.getrusage(resource.RUSAGE_SELF)
        marks["rss"] = _rss_now()
        marks["peak"] = peak_rss_bytes()

    result = WORKERS[kind](config, mark_ready)
    wall = time.perf_counter() - marks["ready"]
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = marks["cpu"]
    result.update(
        wall_s=wall,
        setup_s=marks["ready"] - started,
        cpu_s=(cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        rss_ready_bytes=marks["rss"],  # resident set when the measured step began (imports, clients)
        peak_rss_ready_bytes=marks["peak"],  # peak so far at that point
        peak_rss_bytes=peak_rss_bytes(),  # VmHWM: this process's own, not its parent's at the fork
    )
    if trace:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().statistics("traceback")[:8]
        result["tracemalloc"] = {
            "current_bytes": current,
            "peak_bytes": peak,
            "top_live": [{"bytes": s.size, "count": s.count, "where": s.traceback.format()[-6:]} for s in top],
        }
    result_path.write_text(json.dumps(result))
    return 0


def run_worker(kind: str, config: dict[str, Any], scratch: Path, name: str) -> dict[str, Any]:
    config_path, out = scratch / f"{name}.config.json", scratch / f"{name}.result.json"
    config_path.write_text(json.dumps(config))
    out.unlink(missing_ok=True)
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.file_backup", "--worker", kind, str(config_path), str(out)]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=child_env, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"benchmark worker '{name}' failed (exit code {done.returncode})")
    result = json.loads(out.read_text())
    result["process_wall_s"] = time.perf_counter() - started
    return result
