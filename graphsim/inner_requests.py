"""A request carried out by the simulator's own application in process, as a batch dispatches its inner requests
(graphsim/batch.py): the ASGI scope httpx's ASGITransport would build for it (scheme, server and Host from the
simulator's base URL; the path unquoted, the raw path and query as sent), its body given at once, and the answer
collected whole. httpx's client and transport did the same at several times the CPU per inner request: most of a
busy simulator's time went to forming and parsing them.

Graph behaviour it follows: "Combine multiple HTTP requests using JSON batching"
(https://learn.microsoft.com/graph/json-batching): each request of a batch is carried out as it would be alone, its
`url` relative to the version root, with its own headers and body, and answered with its own status, headers and
body. Nothing here decides what Graph answers: the simulator's routes do, as for a request over the network."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

_PLAIN = re.compile(r"[A-Za-z0-9\-._~:/@!$&'()*+,;=%?]*")  # what httpx sends as it is (no dot segment besides)
_CLIENT = ("127.0.0.1", 123)  # the client address ASGITransport gives


class InnerAnswer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class InnerRequests:
    """Requests to `app` as if sent to `base_url` (`https://127.0.0.1:port`)."""

    def __init__(self, app: Any, base_url: str) -> None:
        self._app = app
        parts = urlsplit(base_url)
        self._scheme, self._host = parts.scheme, parts.netloc
        self._server = (parts.hostname or "", parts.port)

    def _target(self, url: str) -> tuple[str, bytes, bytes]:
        """(path, raw path, query) of a URL relative to the simulator's root, as httpx would send it."""
        if _PLAIN.fullmatch(url) and "/." not in url:
            raw, _, query = url.partition("?")
            return unquote(raw), raw.encode("ascii"), query.encode("ascii")
        parsed = httpx.URL(f"{self._scheme}://{self._host}{url}")
        return parsed.path, parsed.raw_path.split(b"?")[0], parsed.query

    async def send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> InnerAnswer:
        path, raw_path, query = self._target(url)
        fields = [(b"host", self._host.encode("ascii"))]
        fields += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        if body is not None:
            fields.append((b"content-length", str(len(body)).encode("ascii")))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "headers": fields,
            "scheme": self._scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "server": self._server,
            "client": _CLIENT,
            "root_path": "",
        }
        answered = asyncio.Event()
        given = False
        status = 500
        answer_headers: dict[str, str] = {}
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                await answered.wait()
                return {"type": "http.disconnect"}
            given = True
            return {"type": "http.request", "body": body or b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    key, text = name.decode("latin-1").lower(), value.decode("latin-1")
                    answer_headers[key] = f"{answer_headers[key]}, {text}" if key in answer_headers else text
            elif message["type"] == "http.response.body":
                if message.get("body") and method != "HEAD":
                    parts.append(message["body"])
                if not message.get("more_body", False):
                    answered.set()

        try:
            await self._app(scope, receive, send)
        finally:
            answered.set()
        return InnerAnswer(status, answer_headers, b"".join(parts))
