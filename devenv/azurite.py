"""Start Azurite (Microsoft's Azure Storage emulator, installed by `npm ci` into node_modules/) on free loopback
ports, in memory, for tests, the demo and the benchmark."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
# Azurite's published, well-known development key (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"Azurite did not open port {port}")


class Azurite:
    def __init__(self, process: subprocess.Popen, blob_port: int, table_port: int) -> None:
        self.process = process
        self.blob_port = blob_port
        self.table_port = table_port

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Azurite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_azurite(timeout: float = 30.0, tls: tuple[Path, Path] | None = None) -> Azurite:
    """Azurite on free loopback ports. With `tls` (certificate and key PEM files) it serves HTTPS and takes Entra
    ID bearer tokens too, checking their issuer, audience and lifetime but not their signature (`--oauth basic`)."""
    binary = ROOT / "node_modules" / ".bin" / "azurite"
    if not binary.exists():
        found = shutil.which("azurite")
        if not found:
            raise FileNotFoundError("Azurite is not installed: run `make deps` (npm ci) first")
        binary = Path(found)
    blob, queue, table = free_port(), free_port(), free_port()
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - read only if start-up fails
    process = subprocess.Popen(
        [
            str(binary),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue),
            "--tableHost", "127.0.0.1", "--tablePort", str(table),
            *(["--oauth", "basic", "--cert", str(tls[0]), "--key", str(tls[1])] if tls else []),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        _wait_port(blob, deadline)
        _wait_port(table, deadline)
    except TimeoutError:
        process.kill()
        errors.seek(0)
        raise RuntimeError(f"Azurite failed to start: {errors.read().decode(errors='replace')}") from None
    return Azurite(process, blob, table)
