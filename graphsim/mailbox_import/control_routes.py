"""/_sim control API of the mailbox import/export surface (not Graph; no auth): make an archived message's export
fail, so a test sees a backup that keeps its MIME without an export stream."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.archive.control_routes import _archive, _message
from graphsim.control_api import control, control_body


@control
async def fail_export(request: Request) -> Response:
    """{"message": <Mail API id>, "fail": true|false}: that message's exportItems entry answers an error (or not)."""
    _, archive = _archive(request)
    body = await control_body(request)
    _message(archive, str(body.get("message", "")))  # 404 when the archive has no such message
    if body.get("fail", True):
        archive.export_failures.add(str(body["message"]))
    else:
        archive.export_failures.discard(str(body["message"]))
    return JSONResponse({"export_failures": sorted(archive.export_failures)})


def mailbox_import_control_routes() -> list[Route]:
    return [Route("/_sim/users/{user}/archive/export-failures", fail_export, methods=["POST"])]
