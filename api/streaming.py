"""Turning core's writers into HTTP response bodies without holding them in memory: a zip export writes into a
stream in a worker thread; the response reads the chunks through a small bounded queue (backpressure)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

_END = object()
CHUNK_QUEUE = 8


class _QueueWriter:
    """A write-only file object whose writes go into a bounded queue (blocks when the reader is behind)."""

    def __init__(self, chunks: queue.Queue, cancelled: threading.Event) -> None:
        self.chunks, self.cancelled, self.position = chunks, cancelled, 0

    def write(self, data: bytes) -> int:
        if self.cancelled.is_set():
            raise BrokenPipeError("the client went away")
        if data:
            while True:
                try:
                    self.chunks.put(bytes(data), timeout=1)
                    break
                except queue.Full:
                    if self.cancelled.is_set():
                        raise BrokenPipeError("the client went away") from None
            self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass


def writer_chunks(write_to: Callable[[IO[bytes]], Any]) -> Iterator[bytes]:
    """The bytes `write_to(stream)` writes, as an iterator; the writer runs in its own thread."""
    chunks: queue.Queue = queue.Queue(CHUNK_QUEUE)
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            write_to(_QueueWriter(chunks, cancelled))  # type: ignore[arg-type]
        except BaseException as error:  # reported to the reader, which ends the response early
            failure.append(error)
        finally:
            while not cancelled.is_set():
                try:
                    chunks.put(_END, timeout=1)
                    break
                except queue.Full:
                    continue

    thread = threading.Thread(target=run, name="export-writer", daemon=True)
    thread.start()
    try:
        while True:
            chunk = chunks.get()
            if chunk is _END:
                break
            yield chunk
        if failure:
            raise failure[0]
    finally:
        cancelled.set()
