"""A loopback TCP relay in front of a server that can lose answers: the request reaches the server, so it takes
effect, but the client's connection is reset before the answer arrives. This is what a client sees when a server
closes an idle keep-alive connection just as a request leaves on it, or when a network path drops mid-request."""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter


class DroppingProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self, method: str, times: int = 1) -> None:
        """Lose the answers to the next `times` requests sent with `method`."""
        with self._lock:
            self._pending[method] += times

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            state = {"method": ""}
            threading.Thread(target=self._requests, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, state), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict[str, str]) -> None:
        while data := _recv(client):
            method = data.split(b" ", 1)[0]
            if method.isalpha() and method.isupper():  # a request line (bodies here are JSON or multipart)
                state["method"] = method.decode()
            try:
                upstream.sendall(data)
            except OSError:
                break
        _close(upstream)

    def _answers(self, upstream: socket.socket, client: socket.socket, state: dict[str, str]) -> None:
        while data := _recv(upstream):
            method, state["method"] = state["method"], ""
            with self._lock:
                lose = bool(method) and self._pending[method] > 0
                if lose:
                    self._pending[method] -= 1
                    self.dropped[method] += 1
            if lose:  # the client learns nothing of the answer: its connection ends (reset when it is closed)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                _shutdown(client)  # wakes the thread reading requests from it, which then closes it
                _shutdown(upstream)
                return
            try:
                client.sendall(data)
            except OSError:
                break
        _close(client)
        _close(upstream)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
