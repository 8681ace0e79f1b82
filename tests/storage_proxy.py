"""A loopback TCP proxy in front of Azurite that can lose answers: the request reaches storage whole and is applied,
and the connection closes just as the answer starts back, so the client cannot tell whether its write happened.
That is what a storage front end closing a keep-alive connection, or a network blip, does to a write."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class AnswerLosingProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.answers_to_lose = 0
        self.lost = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _lose_this_answer(self) -> bool:
        with self._lock:
            if self.answers_to_lose <= 0:
                return False
            self.answers_to_lose -= 1
            self.lost += 1
            return True

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if answers and self._lose_this_answer():
                    break  # the request was applied; its answer never arrives
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()


@contextlib.contextmanager
def answer_losing_proxy(upstream_port: int) -> Iterator[AnswerLosingProxy]:
    proxy = AnswerLosingProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
