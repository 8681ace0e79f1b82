"""Serve the restore API locally over real HTTP with uvicorn (demo, tests): the same FastAPI app the Functions host
serves, with devenv.local_orchestrations starting the real orchestrators in-process. Listens on 127.0.0.1 only.
Its services are the Functions app's provider's (blueprints.services.provider) unless it is given others: the
orchestrators it starts run the blueprints' activities, which ask that provider."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from api.app import create_app
from api.audit_trail import flush_denials
from blueprints.services import provider
from core.bootstrap import Services
from devenv.local_orchestrations import LocalOrchestrations

log = logging.getLogger(__name__)


class ApiServer:
    """uvicorn in a background thread; `url` is http://127.0.0.1:<port>."""

    def __init__(self, services: Callable[[], Services] = provider.get, port: int = 0) -> None:
        self.orchestrations = LocalOrchestrations()
        self.app = create_app(self.orchestrations, services)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        context = self.app.state.context
        try:
            flush_denials(context.services(), context.denials, everything=True)  # counts of repeated denials
        except Exception:  # no services (a missing setting): nothing was audited either
            log.exception("repeated denials not flushed")
        self.orchestrations.wait_idle()
        self._server.should_exit = True
        self._thread.join(10)
        self.orchestrations.close()
        self._socket.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
