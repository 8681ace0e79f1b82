"""The simulator's list state: every site's lists, who writes (the app, as SharePoint records it), and list item
delta ("listItem: delta", https://learn.microsoft.com/graph/api/listitem-delta): a round without a token enumerates
the live items; a delta token returns the items changed since its round (latest state only, each once) and the
deleted ones as `{"id", "deleted": {"state": "deleted"}}`; `token=latest` returns no items and a fresh delta token.
Links carry the whole query (`$expand`, `$top`) in an opaque `token` parameter. A token of an older generation
(see `expire`) answers 410 Gone, code resyncChangesApplyDifferences, with a `Location` that starts a fresh
enumeration, as the page documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from graphsim.delta_rounds import DeltaPage, DeltaRounds, Sealer, SyncStateNotFound
from graphsim.drives.store import DriveStore, Identity
from graphsim.errors import GraphError
from graphsim.lists.seed import new_list, people_of, seed_lists
from graphsim.lists.store import ListItem, SpList
from graphsim.tenant import Tenant

APP = Identity("00000000-0000-0000-0000-000000000000", "SharePoint App")
APP_LOOKUP = "1073741822"  # the lookup id SharePoint gives the app principal in a site's User Information List


class ListService:
    def __init__(self, tenant: Tenant, drives: DriveStore, sealer: Sealer, seed: int, items: int) -> None:
        self.tenant = tenant
        self.lists: dict[str, dict[str, SpList]] = seed_lists(tenant, drives, seed, items)
        self.rounds = DeltaRounds(sealer, max_rounds=500)
        self.people = people_of(tenant)

    def site_lists(self, site_id: str) -> dict[str, SpList]:
        found = self.lists.get(site_id)
        if found is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return found

    def get_list(self, site_id: str, ref: str) -> SpList:
        """A list by id or by its title, as GET /sites/{id}/lists/{list-id or title} takes either
        (https://learn.microsoft.com/graph/api/list-get)."""
        lists = self.site_lists(site_id)
        found = lists.get(ref) or next((x for x in lists.values() if x.display_name == ref), None)
        if found is None:
            raise GraphError(404, "itemNotFound", "The specified list was not found")
        return found

    @staticmethod
    def get_item(sp_list: SpList, ref: str) -> ListItem:
        item = sp_list.items.get(ref)
        if item is None or item.deleted:
            raise GraphError(404, "itemNotFound", "The specified list item was not found")
        return item

    def create_list(self, site_id: str, web_url: str, body: dict[str, Any]) -> SpList:
        """POST /sites/{id}/lists (https://learn.microsoft.com/graph/api/list-create): the template's columns
        plus those given; genericList when no template is named; a title already used answers 409."""
        lists = self.site_lists(site_id)
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "invalidRequest", "A list needs a displayName.")
        if any(x.display_name.lower() == name.lower() for x in lists.values()):
            raise GraphError(409, "nameAlreadyExists", "A list, survey, discussion board, or document library with "
                             "the specified title already exists in this Web site.")  # fmt: skip
        info = body.get("list") if isinstance(body.get("list"), dict) else {}
        template = str(info.get("template") or "genericList")
        if template == "documentLibrary":
            raise GraphError(400, "invalidRequest", "Document libraries are created through the drive surface.")
        columns = body.get("columns") if isinstance(body.get("columns"), list) else []
        try:
            created = new_list(site_id, web_url, name, template, now(), columns, lid=str(uuid.uuid4()),
                               description=str(body.get("description") or ""),
                               hidden=bool(info.get("hidden")))  # fmt: skip
        except ValueError as exc:
            raise GraphError(400, "invalidRequest", str(exc)) from None
        lists[created.id] = created
        return created

    def write(self, sp_list: SpList, item: ListItem | None, values: dict[str, Any], user_id: str | None = None
              ) -> ListItem:  # fmt: skip
        """Create (item None) or update an item, as the app (or, from the control API, a tenant user)."""
        who, lookup = next(((p, k) for p, k in self.people if p.id == user_id), (APP, APP_LOOKUP))
        if item is None:
            return sp_list.add(values, who, lookup, now())
        sp_list.update(item, values, who, lookup, now())
        return item

    def delta(self, sp_list: SpList, token: str | None, expand: bool, top: int) -> DeltaPage:
        """The page a delta request answers (a token's round keeps the query it began with)."""
        if token is None:
            return self._start(sp_list, sp_list.live(), expand, top)
        if token == "latest":
            baseline = {"w": sp_list.seq, "x": expand, "t": top}
            return DeltaPage([], None, self.rounds.delta_token(sp_list.id, baseline, [sp_list.epoch]))
        payload = self.rounds.resolve(token, sp_list.id, [sp_list.epoch], ("s", "d", "f"))
        expand, top = bool(payload.get("x")), int(payload.get("t") or top)
        if payload["k"] == "s":
            round_, offset = self.rounds.round_of(payload)
            return self.rounds.page(round_, offset)
        if payload["k"] == "f":
            return self._start(sp_list, sp_list.live(), expand, top)
        changed = sorted((i for i in sp_list.items.values() if i.seq > int(payload.get("w", 0))), key=lambda i: i.seq)
        return self._start(sp_list, changed, expand, top)

    def fresh_token(self, sp_list: SpList, expand: bool, top: int) -> str:
        """A token that starts a new full enumeration with the same query (the Location of a 410)."""
        return self.rounds.token("f", sp_list.id, [sp_list.epoch], x=expand, t=top)

    def _start(self, sp_list: SpList, items: list[ListItem], expand: bool, top: int) -> DeltaPage:
        entries = [sp_list.tombstone(i) if i.deleted else sp_list.item_json(i, expand) for i in items]
        baseline = {"w": sp_list.seq, "x": expand, "t": top}
        round_ = self.rounds.start(sp_list.id, entries, baseline, [sp_list.epoch], size=top)
        return self.rounds.page(round_, 0)

    def expire(self) -> int:
        """Every list's delta tokens made stale (410 on next use), as SharePoint does when it drops change state."""
        count = 0
        for lists in self.lists.values():
            for sp_list in lists.values():
                sp_list.epoch += 1
                count += 1
        self.rounds.forget_all()
        return count


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


__all__ = ["ListService", "SyncStateNotFound"]
