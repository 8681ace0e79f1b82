"""The local runner's worker processes: one Python process tops out near 150 messages/s (the GIL), so a local run
uses every core with N worker processes, each building its own Services from the run's Settings and owning whole
resources (a resource is backed up by one process, from its delta links to its restore point).

    parent (core/runner.py)                              worker process (N of them, from a fork server)
      discovery, the run record, its heartbeat             build_services(settings); T threads, each:
      a resource key to a worker with a free slot ──────>    takes a key, ("started", key), backup_resource(...)
      each result to the runner, which records  <──────      ("result", result); at the end ("figures", ...)
      the run; then "done", or "stop" on Ctrl-C

One pipe per worker, nothing shared: no named semaphore can outlive a parent that is killed, and a worker whose pipe
ends (its parent is gone) stops. T = ceil(BACKUP_LOCAL_CONCURRENCY / N) resources at a time per worker; the parent
hands out the next key as a worker finishes one, so a process that finishes early takes more. Stopping: the workers
ignore SIGINT (a terminal sends Ctrl-C to the whole process group; the parent decides); `stop()` sends "stop", each
worker calls core.stopping.request_stop(), and its resources under way stop at their next Graph request, recording
nothing half-done; after the grace the parent kills what is left. A worker that dies (killed, out of memory) fails
the resources it had started, with the reason; the keys it had not started go to the others."""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from core.config import Settings, usable_cpus
from core.planning import failed_result

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how long the parent waits for a worker's message before it looks at the workers again


def worker_processes(settings: Settings, resources: int) -> int:
    """Processes a run of `resources` resources uses (1: the runner's threads, no worker process):
    BACKUP_LOCAL_PROCESSES, or by default one per CPU once the resources are more than BACKUP_LOCAL_CONCURRENCY.
    Up to that many they are all in flight at once in the runner's threads from the start, where worker processes
    would first cost ~2 s of start-up (the fork server importing the engine, each worker building its services:
    bench.scaling, 50 small mailboxes on 2 CPUs, all in flight: 144 msgs/s in threads, 120 in two workers); a run
    longer than one such wave pays it once and gets a GIL per CPU. Never more than the resources at once."""
    chosen = settings.local_processes or (1 if resources <= settings.local_concurrency else usable_cpus())
    return max(1, min(chosen, settings.local_concurrency, resources))


class _Worker:
    """The parent's view of one worker process: its pipe, the keys it was given and which of them it started."""

    def __init__(self, process: Any, pipe: Connection) -> None:
        self.process, self.pipe = process, pipe
        self.given: Counter[str] = Counter()  # handed to it, no result yet
        self.started: Counter[str] = Counter()  # of those, the ones it began
        self.open = True  # its pipe still answers

    def send(self, message: tuple[str, Any]) -> None:
        if self.open:
            try:
                self.pipe.send(message)
            except (OSError, EOFError):  # it is gone; its keys are dealt with when its pipe is read
                self.open = False


class ResourceProcesses:
    """N worker processes backing up the resources of run `run_id`; `results()` yields each resource's result."""

    def __init__(self, settings: Settings, run_id: str, processes: int) -> None:
        context = _context()
        self.threads = math.ceil(settings.local_concurrency / processes)
        logs = _log_setup()
        # the tenant's SharePoint RU budget is split across the workers as across instances (core/graph/ru_budget.py)
        shares = dataclasses.replace(settings, sharepoint_ru_shares=settings.sharepoint_ru_shares * processes)
        self._workers: list[_Worker] = []
        self._theirs: list[Connection] = []  # the workers' ends, closed here once each worker holds its own
        for n in range(processes):
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(target=_worker_main, args=(shares, run_id, self.threads, theirs, logs),
                                      name=f"resource-worker-{n + 1}", daemon=True)  # fmt: skip
            self._workers.append(_Worker(process, mine))
            self._theirs.append(theirs)
        self.figures: list[dict[str, Any]] = []  # per worker: pid, resources, cpu_s, peak_rss_bytes, graph, written
        self._starter: threading.Thread | None = None

    def results(self, keys: list[str]) -> Iterator[dict]:
        """Start the workers, hand them `keys`, and yield each resource's result as it arrives (a resource whose
        worker died as failed with the reason; one that no worker was left to take, too)."""
        self._starter = threading.Thread(target=self._start, name="resource-workers-start", daemon=True)
        self._starter.start()  # in a thread: a Ctrl-C meanwhile cannot leave a worker half-started
        self._starter.join()
        waiting: deque[str] = deque(keys)
        pending = Counter(keys)
        for worker in self._workers:
            self._hand_out(worker, waiting, self.threads)
        why = "no worker process was left to back it up"
        while +pending:
            live = [w for w in self._workers if w.open]
            if not live:  # every worker is gone: what none of them took fails, with why
                for key in list((+pending).elements()):
                    pending[key] -= 1
                    yield failed_result(key, why)
                return
            for pipe in wait([w.pipe for w in live], timeout=POLL_SECONDS):
                worker = next(w for w in live if w.pipe is pipe)
                for kind, payload in self._read(worker):
                    if kind == "result" and pending[payload["resource"]] > 0:
                        pending[payload["resource"]] -= 1
                        self._hand_out(worker, waiting, 1)
                        yield payload
                    elif kind == "fatal":
                        why = payload
                        log.warning("%s", payload)
                if not worker.open:  # it died: what it started fails, what it had not started goes to the others
                    reason = self._exit_reason(worker)
                    for key in list(worker.started.elements()):
                        if pending[key] > 0:
                            pending[key] -= 1
                            yield failed_result(key, reason)
                    waiting.extend((worker.given - worker.started).elements())
                    worker.given.clear()
                    worker.started.clear()
                    for other in self._workers:
                        self._hand_out(other, waiting, self.threads - sum(other.given.values()))
        for worker in self._workers:
            worker.send(("done", None))

    def stop(self) -> None:
        """Ask every worker to stop: no resource starts, and those under way stop at their next Graph request."""
        for worker in self._workers:
            worker.send(("stop", None))

    def close(self, grace: float) -> None:
        """Wait up to `grace` seconds for the workers to end (they end once told "done", or after `stop()`),
        collecting their figures; then kill those still running and close the pipes."""
        deadline = time.monotonic() + grace
        try:
            if self._starter is not None:
                self._starter.join(timeout=max(deadline - time.monotonic(), 0.1))
            while any(w.open for w in self._workers) and time.monotonic() < deadline:
                live = [w for w in self._workers if w.open]
                for pipe in wait([w.pipe for w in live], timeout=POLL_SECONDS):
                    worker = next(w for w in live if w.pipe is pipe)
                    self._read(worker)
        finally:
            for worker in self._workers:
                if worker.process.pid is not None and worker.process.is_alive():
                    worker.process.kill()
            for worker in self._workers:
                worker.pipe.close()
                if worker.process.pid is not None:
                    worker.process.join(timeout=5)

    def _start(self) -> None:
        for worker, theirs in zip(self._workers, self._theirs, strict=True):
            worker.process.start()
            theirs.close()  # the worker holds its end now: the parent's copy would keep the pipe open

    def _hand_out(self, worker: _Worker, waiting: deque[str], slots: int) -> None:
        for _ in range(max(slots, 0)):
            if not waiting or not worker.open:
                return
            key = waiting.popleft()
            worker.given[key] += 1
            worker.send(("key", key))

    def _read(self, worker: _Worker) -> list[tuple[str, Any]]:
        """Every message the worker has sent (its pipe closed: it is gone); notes what it started and finished."""
        messages = []
        try:
            while worker.pipe.poll():
                kind, payload = worker.pipe.recv()
                if kind == "started":
                    worker.started[payload] += 1
                elif kind == "result":
                    worker.started[payload["resource"]] -= 1
                    worker.given[payload["resource"]] -= 1
                    worker.started, worker.given = +worker.started, +worker.given
                elif kind == "figures":
                    self.figures.append(payload)
                messages.append((kind, payload))
        except (OSError, EOFError):
            worker.open = False
        return messages

    @staticmethod
    def _exit_reason(worker: _Worker) -> str:
        worker.process.join(timeout=1)
        return f"worker process {worker.process.pid} exited with code {worker.process.exitcode} while backing it up"


def _context() -> Any:
    """Never fork a process that has threads and open sockets: a fork server (one clean process that has imported
    the engine once, so a worker starts in milliseconds, not seconds of imports), or a spawned interpreter where
    there is none (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["core.backup", "core.bootstrap", "core.resource_processes"])
    return context


def _log_setup() -> tuple[int, logging.Formatter | None]:
    """The parent's log level and its first handler's formatter (the CLI's one-line errors), for the workers."""
    root = logging.getLogger()
    formatter = next((h.formatter for h in root.handlers if h.formatter is not None), None)
    try:
        pickle.dumps(formatter)
    except Exception:  # a formatter that cannot travel: the workers use the plain one
        formatter = None
    return root.getEffectiveLevel(), formatter


def own_peak_rss_bytes() -> int:
    """This process's resident-memory high-water mark (VmHWM; Linux), 0 where /proc is not there."""
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError, IndexError):
        return 0


# --- in the worker process ---------------------------------------------------------------------------------------
def _worker_main(
    settings: Settings, run_id: str, threads: int, pipe: Connection, logs: tuple[int, logging.Formatter | None]
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    level, formatter = logs
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter or logging.Formatter("%(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(level)
    from core.backup import backup_resource
    from core.bootstrap import build_services
    from core.stopping import Interrupted, request_stop, stop_requested

    pid, send_lock = os.getpid(), threading.Lock()

    def send(kind: str, payload: Any) -> None:
        with send_lock:
            try:
                pipe.send((kind, payload))
            except (OSError, EOFError):  # the parent is gone
                request_stop()

    try:
        services = build_services(settings)
    except Exception as exc:
        send("fatal", f"a worker process could not build its services: {type(exc).__name__}: {exc}")
        return
    keys: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_listen, args=(pipe, keys, threads, request_stop), name="parent", daemon=True).start()
    done = [0] * threads  # resources each thread finished

    def work(n: int) -> None:
        while (key := keys.get()) is not None and not stop_requested():
            send("started", key)
            try:
                result = backup_resource(services, run_id, key)
            except Interrupted:  # stopped at a Graph request: nothing half-done was recorded
                return
            except Exception as exc:  # the outcome could not be recorded; the run goes on
                result = failed_result(key, str(exc)[:1000])
            done[n] += 1
            send("result", result)

    pool = [threading.Thread(target=work, args=(n,), name=f"resource-{n + 1}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    cpu = os.times()
    send("figures", {
        "pid": pid,
        "resources": sum(done),
        "cpu_s": cpu.user + cpu.system,  # the whole process's, its start-up included
        "peak_rss_bytes": own_peak_rss_bytes(),
        "graph": services.graph.stats(),
        "written": services.content.counts(),
    })  # fmt: skip
    services.close()


def _listen(pipe: Connection, keys: queue.Queue[str | None], threads: int, request_stop: Any) -> None:
    """The parent's messages: keys to back up, then "done"; "stop", or the pipe's end (the parent is gone), stops
    this worker's resources at their next request."""
    try:
        while True:
            kind, payload = pipe.recv()
            if kind == "key":
                keys.put(payload)
            elif kind == "done":
                break
            elif kind == "stop":
                request_stop()
                break
    except (OSError, EOFError):
        request_stop()
    for _ in range(threads):
        keys.put(None)
