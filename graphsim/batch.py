"""JSON batching: `POST /v1.0/$batch` (and `/beta/$batch`), as "Combine multiple HTTP requests using JSON batching"
documents it (https://learn.microsoft.com/graph/json-batching):

- the body is `{"requests": [...]}`, at most 20 requests, each with a unique `id`, a `method` and a `url` relative to
  the version root (`/users/...` or `users/...`), optional `headers` and `body` (a body needs a Content-Type header);
  a batch breaking these rules is refused whole with 400 (more than 20: "Limit of 20 requests exceeded");
- the batch answers 200 with `{"responses": [{"id", "status", "headers", "body"}]}`, one per request, in any order;
  each request is carried out and answered on its own: one failing says nothing of its siblings;
- `dependsOn` names requests that must succeed first; when one of them fails the request is not carried out and
  answers 424 (Failed Dependency);
- throttling ("Throttling and batching", https://learn.microsoft.com/graph/throttling#throttling-and-batching):
  every request in a batch is evaluated individually against the limits, and one over them answers 429 with its
  own Retry-After inside the batch. For Outlook, Graph dispatches at most four requests of a batch at the same time
  (Microsoft's answer on MailboxConcurrency and batching, https://learn.microsoft.com/answers/questions/1660054),
  so the mailbox's limit of 4 concurrent requests applies to them as to any.

Each inner request goes through the simulator's own routes in process (the batch's Authorization header with it),
so it is counted by kind, meets the same faults and limits and answers exactly as it would alone (but for
reset_response, a fault of a connection, which inner requests do not have; a throttle fault with endpoint "batch"
hits the envelope instead: the whole batch answers its status). The simulator
counts the envelope as kind `batch` and each inner request in `batched`: HTTP round trips are `total - batched`."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.errors import GraphError, graph_error
from graphsim.inner_requests import InnerRequests

MAX_REQUESTS = 20  # "JSON batch requests are currently limited to 20 individual requests"
PARALLEL = 4  # requests of one batch dispatched at the same time (see the docstring)
INNER_HEADER = "x-graphsim-batched"  # marks an inner request; its value is the simulator's own secret
INNER_SECRET = secrets.token_hex(16)
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}


def is_inner(request: Request) -> bool:
    """Whether a request is one a batch dispatched (not one that came over the network)."""
    return secrets.compare_digest(request.headers.get(INNER_HEADER, ""), INNER_SECRET)


def _validate(body: Any) -> list[dict[str, Any]]:
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise GraphError(400, "BadRequest", f"Limit of {MAX_REQUESTS} requests exceeded.")
    ids: set[str] = set()
    for item in requests:
        fields = ("id", "method", "url")
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k] for k in fields):
            raise GraphError(400, "BadRequest", "Each request of a batch needs an id, a method and a url.")
        if item["id"] in ids:
            raise GraphError(400, "BadRequest", f"Batch request id '{item['id']}' is not unique.")
        ids.add(item["id"])
        if item["url"].lower().startswith(("http://", "https://")):
            raise GraphError(400, "BadRequest", "A batch request's url must be relative to the version root.")
        if "body" in item and not any(k.lower() == "content-type" for k in (item.get("headers") or {})):
            raise GraphError(400, "BadRequest", "A batch request with a body needs a Content-Type header.")
    for item in requests:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in ids or d == item["id"] for d in depends):
            raise GraphError(400, "BadRequest", f"Batch request '{item['id']}' depends on an unknown request.")
    return requests


async def _send(inner: InnerRequests, version: str, auth: str, item: dict[str, Any]) -> dict[str, Any]:
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
    headers.update({"Authorization": auth, INNER_HEADER: INNER_SECRET})
    content: bytes | None = None
    if "body" in item:
        body = item["body"]
        kind = next(v for k, v in headers.items() if k.lower() == "content-type")
        if isinstance(body, str) and not kind.startswith("application/json"):
            content = body.encode()
        else:  # as httpx encodes a json= body
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    url = f"/{version}/{item['url'].lstrip('/')}"
    response = await inner.send(item["method"].upper(), url, headers, content)
    answer: dict[str, Any] = {
        "id": item["id"],
        "status": response.status,
        "headers": {k: v for k, v in response.headers.items() if k not in _HOP_HEADERS},
    }
    if response.body:
        try:
            answer["body"] = json.loads(response.body)
        except ValueError:  # a body that is not JSON comes back base64-encoded
            answer["body"] = base64.b64encode(response.body).decode()
    return answer


def _envelope_fault(sim: Any) -> None:
    """A throttle fault naming endpoint 'batch' (and no user) hits the envelope itself: the whole batch answers its
    status (429/503 with its Retry-After, or a 5xx) and none of its requests is carried out."""
    fault = next((f for f in sim.faults.active if f.kind == "throttle" and f.endpoint == "batch" and not f.user), None)
    if fault is None:
        return
    sim.faults._consume(fault)
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.status in (429, 503):
        raise GraphError(fault.status, "TooManyRequests" if fault.status == 429 else "ServiceUnavailable",
                         "Too many requests, retry later.", headers)  # fmt: skip
    raise GraphError(fault.status, "InternalServerError", "An internal server error occurred.")


async def batch(request: Request) -> Response:
    sim = request.app.state.sim
    sim.count("batch")
    auth = request.headers.get("authorization", "")
    try:
        sim._authenticate(request)
        try:
            body = await request.json()
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid JSON in the request body.") from None
        requests = _validate(body)
        _envelope_fault(sim)
    except GraphError as exc:
        sim.stats.by_status[exc.status] += 1
        return graph_error(request, exc.status, exc.code, exc.message, exc.headers)
    version = request.url.path.strip("/").split("/")[0]
    answers: dict[str, dict[str, Any]] = {}
    done = {item["id"]: asyncio.Event() for item in requests}
    gate = asyncio.Semaphore(PARALLEL)
    inner = InnerRequests(request.app, sim.base_url)  # in process (graphsim/inner_requests.py)

    async def run(item: dict[str, Any]) -> None:
        try:
            for dep in item.get("dependsOn") or []:
                await done[dep].wait()
            failed = [d for d in item.get("dependsOn") or [] if answers[d]["status"] >= 400]
            if failed:
                answers[item["id"]] = {
                    "id": item["id"],
                    "status": 424,
                    "body": {
                        "error": {
                            "code": "FailedDependency",
                            "message": f"Depends on a failed request ({failed[0]}).",
                        }
                    },
                }
                return
            async with gate:
                answers[item["id"]] = await _send(inner, version, auth, item)
        finally:
            done[item["id"]].set()

    await asyncio.gather(*(run(item) for item in requests))
    sim.stats.by_status[200] += 1
    return JSONResponse({"responses": list(answers.values())})  # in the order they finished: "any order"


def batch_routes() -> list[Route]:
    return [Route("/v1.0/$batch", batch, methods=["POST"]), Route("/beta/$batch", batch, methods=["POST"])]
