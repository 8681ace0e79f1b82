"""The simulator's router asks only the routes that could match a path (graphsim/route_index.py): for every path
made from its own templates (each parameter filled with an id, or with a literal another template has there, such
as `delta`), and every method, the route it picks is the first Starlette's scan of all routes would pick."""

from __future__ import annotations

import random
import re

from starlette.routing import Match, Route

from graphsim.app import create_app
from graphsim.route_index import IndexedRouter


class _Sim:
    pass


def _first_full(routes, scope):
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def test_the_router_picks_the_route_starlettes_scan_picks():
    router = create_app(_Sim()).router
    assert isinstance(router, IndexedRouter)
    templates = [r.path for r in router.routes if isinstance(r, Route)]
    literals = sorted({seg for path in templates for seg in path.split("/") if "{" not in seg})
    rng = random.Random(16)
    checked = 0
    for route in router.routes:
        if not isinstance(route, Route):
            continue
        for _ in range(6):
            path = re.sub(r"\{[^}]+\}", lambda _m: rng.choice(["AAMk-x_1", rng.choice(literals) or "x", "a/b"]),
                          route.path)  # fmt: skip
            for method in ("GET", "POST", "PATCH", "DELETE"):
                scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
                assert _first_full(router.candidates(path), scope) is _first_full(router.routes, scope), path
                checked += 1
    assert checked > 5000
    assert len(router.candidates("/v1.0/users/u1/messages/m1/$value")) < len(router.routes) // 10
