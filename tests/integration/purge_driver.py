"""A purge in a process of its own, for the crash test (tests/integration/test_purge_killed.py): the settings from
the environment as the CLI reads them, one purge as of PURGE_AS_OF (the tests' simulated time, so blobs written
today have outlived their IMMUTABILITY_DAYS), and, when KILL_BEFORE_REQUEST=N is set, a SIGKILL the process sends
itself just before its Nth storage request: a crash at a chosen point between two storage operations, however the
purge's steps are timed. The hook counts requests in azure-core's HTTP transport (the SDK's, none of ours)."""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime
from typing import Any

from azure.core.pipeline.transport import RequestsTransport

from core.bootstrap import build_services
from core.config import load_settings
from core.lifecycle.purge import purge


def _kill_before(limit: int) -> None:
    send = RequestsTransport.send
    sent = 0

    def counting(self: RequestsTransport, request: Any, **kwargs: Any) -> Any:
        nonlocal sent
        sent += 1
        if sent >= limit:
            os.kill(os.getpid(), signal.SIGKILL)
        return send(self, request, **kwargs)

    RequestsTransport.send = counting  # type: ignore[method-assign]


def main() -> None:
    if os.environ.get("KILL_BEFORE_REQUEST"):
        _kill_before(int(os.environ["KILL_BEFORE_REQUEST"]))
    services = build_services(load_settings())
    try:
        summary = purge(services, now=datetime.fromisoformat(os.environ["PURGE_AS_OF"]), trigger="test")
    finally:
        services.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
