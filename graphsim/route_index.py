"""Starlette's Router, asking first only the routes that could match a request's path. The simulator has ~400
routes, and Starlette tries each one's regular expression in turn: a tenth of a busy simulator's CPU went there.

A route whose template has no `{...:path}` parameter matches only paths with as many segments as its template (a
parameter matches within one segment: Starlette's str, int, float and uuid convertors exclude '/'), and a template
ending in a literal segment only paths ending in it. The routes that could match a path are asked in their order;
the first that matches whole is Starlette's first too, since no route left out could match. When none matches
whole, Starlette's own scan runs: a method that is not allowed (405), a redirect to the path with or without its
trailing slash, 404, all as before.

No Graph behaviour is modelled here: which route answers a path, and so what the simulator answers (each route names
the Graph page it follows), is exactly what it was without the index (tests/unit/test_route_index.py)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send

_ANY = "\0"  # the key of templates whose last segment is a parameter


class IndexedRouter(Router):
    def __init__(self, routes: list[BaseRoute], **options: Any) -> None:
        super().__init__(routes=routes, **options)
        self._by_shape: dict[tuple[int, str], list[tuple[int, BaseRoute]]] = {}
        self._always: list[tuple[int, BaseRoute]] = []  # a {...:path} parameter, or not a plain Route
        for order, route in enumerate(self.routes):
            if not isinstance(route, Route) or ":path}" in route.path:
                self._always.append((order, route))
                continue
            segments = route.path.split("/")
            last = segments[-1] if "{" not in segments[-1] else _ANY
            self._by_shape.setdefault((len(segments), last), []).append((order, route))
        self._candidates: dict[tuple[int, str], list[BaseRoute]] = {}

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that could match `path`, in their order."""
        count, last = path.count("/") + 1, path.rsplit("/", 1)[-1]
        key = (count, last) if (count, last) in self._by_shape else (count, _ANY)
        found = self._candidates.get(key)
        if found is None:
            shaped = self._by_shape.get(key, []) + (self._by_shape.get((count, _ANY), []) if key[1] != _ANY else [])
            found = [route for _, route in sorted(shaped + self._always, key=lambda pair: pair[0])]
            self._candidates[key] = found
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)  # Starlette's scan: 405, the trailing-slash redirect, 404
