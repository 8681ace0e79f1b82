"""ControlHttp: the HTTP plumbing every typed client of the simulator's /_sim control API shares.

A client subclasses it and adds its surface's calls on top of `_call`; it closes with `close()`, as a context
manager (`with SimControl(...) as sim:`), or through contextlib.closing.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx


class ControlHttp:
    def __init__(self, base_url: str, ca_file: str | Path, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        context = ssl.create_default_context(cafile=str(ca_file))
        self._http = httpx.Client(base_url=self.base_url, verify=context, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        """The decoded JSON answer; None for 204 or an empty body; RuntimeError (with the body) for 4xx/5xx."""
        response = self._http.request(method, path, json=json, **kw)
        if response.status_code >= 400:
            raise RuntimeError(f"graphsim control {method} {path} -> {response.status_code}: {response.text}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
