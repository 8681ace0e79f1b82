"""`make serve`: the local stack kept running for people who want to click around after `make demo`. Azurite and
the Graph tenant simulator on free loopback ports, one backup of the simulated tenant (mail and OneDrive), and the
restore API (uvicorn, devenv/api_server.py) serving the portal, the dashboard and /api/v1 on 127.0.0.1:PORT. The
simulator is also the sign-in service: the portal's app registration (the API's, as docs/deploy.md describes it)
is registered there with the portal's URL as its redirect URI, and the last simulated user holds Restore.Operator
(the portal lets them pick any resource). Prints the URLs and an admin token, then waits; Ctrl-C (or SIGTERM)
stops everything and exits 0.

    serve_stack(state_dir, port, **simulator options)  the running stack as a context manager (tests use it)
    main(argv)     the command, python -m devenv.serve [--port N] [--users N]: runs serve() in a worker process
    serve(argv)    the worker: the stack until SIGTERM or Ctrl-C
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blueprints.services import provider
from core.bootstrap import build_services
from core.config import load_settings
from core.runner import run_backup
from devenv.api_server import ApiServer
from devenv.azurite import start_azurite
from graphsim.process import SimulatorProcess, start_simulator

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".serve"
CLIENT_ID = "5e7f0c1a-2b3d-4c5e-8f90-a1b2c3d4e5f6"  # the simulated API app registration's client id
APP_ID_URI = "api://m365-backup-local"  # and its Application ID URI (scope api://m365-backup-local/access_as_user)
ADMIN_OID = "00000000-0000-0000-0000-0000000000ad"
OPERATOR_ROLE, ADMIN_ROLE = "Restore.Operator", "Backup.Admin"
DEFAULT_PORT = 8400
WORKER_FLAG = "--worker"  # internal: this process is the worker main() started


@dataclass(frozen=True)
class Stack:
    """What is running, and how to reach it."""

    sim: SimulatorProcess
    api_url: str
    blob_port: int
    table_port: int
    admin_token: str
    token_file: Path
    users: list[dict[str, Any]]  # the simulated people who can sign in to the portal
    operator: str  # the UPN among them that holds Restore.Operator

    @property
    def portal_url(self) -> str:
        return f"{self.api_url}/api/v1/portal"

    @property
    def dashboard_url(self) -> str:
        return f"{self.api_url}/api/v1/dashboard"

    def lines(self) -> list[str]:
        names = ", ".join(u["userPrincipalName"] for u in self.users)
        return [
            f"portal      {self.portal_url}",
            f"            sign in as any of: {names} ({self.operator} is a Restore.Operator)",
            "            the sign-in page is the simulator's, on HTTPS with its own CA: accept the browser's warning",
            f"            or trust {self.sim.ca_file}",
            f"dashboard   {self.dashboard_url}  (Backup.Admin: send the token below)",
            f'            curl -H "Authorization: Bearer $(cat {self.token_file})" {self.dashboard_url}',
            f"API         {self.api_url}/api/v1/openapi.json",
            f"simulator   {self.sim.base_url} (tenant {self.sim.tenant_id}; CA {self.sim.ca_file})",
            f"Azurite     blob 127.0.0.1:{self.blob_port}, table 127.0.0.1:{self.table_port}",
            f"admin token {self.token_file} (12 hours):",
            self.admin_token,
        ]


@contextmanager
def serve_stack(state_dir: Path, port: int = DEFAULT_PORT, **sim_options: Any) -> Iterator[Stack]:
    """Start everything, back the tenant up once, yield the Stack; on exit stop it all (API, simulator, Azurite)."""
    options = {"users": 3, "messages": 12, "seed": 2026, "drive_files": 6, "contacts": 2, "events": 2, **sim_options}
    state_dir.mkdir(parents=True, exist_ok=True)
    with start_azurite() as azurite, start_simulator(state_dir / "graphsim", **options) as sim:
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_WORKLOADS": "exchange,onedrive", "API_AUDIENCE": f"{APP_ID_URI},{CLIENT_ID}"}  # fmt: skip
        services = build_services(load_settings(env))
        try:
            with provider.override(services):
                report = run_backup(services)
                if report.get("status") != "succeeded":
                    raise RuntimeError(f"the first backup did not succeed: {report.get('status')}")
                with ApiServer(port=port) as server:
                    yield _ready(sim, server.url, azurite.blob_port, azurite.table_port, state_dir)
        finally:
            services.close()


def _ready(sim: SimulatorProcess, api_url: str, blob_port: int, table_port: int, state_dir: Path) -> Stack:
    """Register the portal with the simulated sign-in service, name an operator, and mint the admin's token."""
    sim.control.register_spa(CLIENT_ID, [f"{api_url}/api/v1/portal"], APP_ID_URI)
    users = [u for u in sim.control.state()["users"] if u.get("purpose", "user") == "user"]
    with_mailbox = {u["id"] for u in sim.control.mailbox_users()}
    operator = next(u for u in reversed(users) if u["id"] in with_mailbox)
    sim.control.assign_app_roles(operator["id"], [OPERATOR_ROLE])
    admin = sim.control.api_token(oid=ADMIN_OID, name="admin@contoso.test", roles=[ADMIN_ROLE],
                                  audience=APP_ID_URI, lifetime=12 * 3600)  # fmt: skip
    token_file = state_dir / "admin-token.txt"
    token_file.write_text(admin)
    return Stack(sim, api_url, blob_port, table_port, admin, token_file, users, operator["userPrincipalName"])


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the stack in a worker process of its own session, so that Ctrl-C (which the terminal sends to every
    process of the foreground group: make, this process, and otherwise Azurite and the simulator too) reaches only
    this process; it then asks the worker to stop (SIGTERM), which stops the API while storage is still up, then
    the simulator and Azurite. Without this, Azurite died first and the API's last audit writes retried against it."""
    args = [*(sys.argv[1:] if argv is None else argv)]
    _stop_on_sigterm()  # make's SIGTERM, too, becomes the worker's clean stop
    worker = subprocess.Popen([sys.executable, "-m", "devenv.serve", WORKER_FLAG, *args], start_new_session=True)
    while True:
        try:
            return worker.wait()
        except KeyboardInterrupt:
            worker.terminate()  # SIGTERM: the worker's clean stop; a second Ctrl-C just waits again


def serve(argv: list[str]) -> int:
    """The worker: start the stack, print how to reach it, wait for SIGTERM (or Ctrl-C when run on its own)."""
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the API's port (default {DEFAULT_PORT})")
    parser.add_argument("--users", type=int, default=3, help="simulated users (default 3)")
    args = parser.parse_args(argv)
    _stop_on_sigterm()
    try:
        with serve_stack(STATE, port=args.port, users=args.users) as stack:
            print("The local stack is running (Ctrl-C stops it):\n  " + "\n  ".join(stack.lines()), flush=True)
            threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        print("\nstopped: API, simulator and Azurite", flush=True)
        return 0
    except OSError as error:  # e.g. the port is taken
        print(f"make serve: {error} (choose another port: make serve PORT=N)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[2:]) if sys.argv[1:2] == [WORKER_FLAG] else main())
