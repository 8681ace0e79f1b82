"""A loopback HTTP server that answers each request with exactly the bytes a test scripts (framings, closes,
malformed answers, silence), and keeps every request's bytes as it received them."""

from __future__ import annotations

import socket
import threading
from collections import deque


class ScriptedServer:
    """Answers each request with the next scripted bytes; closes the connection after it when told to."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.script: deque[tuple[bytes, bool]] = deque()
        self.requests: list[bytes] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/x") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, raw: bytes, close: bool = False) -> None:
        self.script.append((raw, close))

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                lengths = [h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
                length = int(lengths[0]) if lengths else 0
                self.requests.append(head + reader.read(length))
                raw, close = self.script.popleft()
                conn.sendall(raw)
                if close:
                    return
