"""Membership restore, an explicit operator action: the membership and owners of a group as of a run compared with
the group's now, as a plan (who would be added, who removed); applied only when the operator confirms, and audited.

Graph calls (application permission GroupMember.ReadWrite.All): "Add members" (https://learn.microsoft.com/graph/api/
group-post-members: POST /groups/{id}/members/$ref with an @odata.id of the directory object), "Remove member"
(https://learn.microsoft.com/graph/api/group-delete-members: DELETE /groups/{id}/members/{id}/$ref) and the same for
owners (group-post-owners, group-delete-owners). Owners are added before members are removed and removed last, so
the group never loses its last owner in the middle. Adding someone back to a group sends them Microsoft 365's
"you've joined" mail if the group welcomes new members; that is Exchange's doing and the plan says so."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import GraphConflict, GraphError, GraphNotFound, InvalidRequestError, NotFoundError
from core.storage.audit_log import AuditEntry
from core.workloads.groups.membership import MEMBERSHIP, read_snapshot

if TYPE_CHECKING:
    from core.bootstrap import Services


@dataclass
class MembershipPlan:
    resource: str
    run_id: str
    add_members: list[str] = field(default_factory=list)
    remove_members: list[str] = field(default_factory=list)
    add_owners: list[str] = field(default_factory=list)
    remove_owners: list[str] = field(default_factory=list)
    applied: bool = False
    done: list[str] = field(default_factory=list)  # 'add member <id>' ... as carried out
    failures: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.add_members or self.remove_members or self.add_owners or self.remove_owners)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        lines = [f"membership of {self.resource} as of run {self.run_id}:"]
        for label, ids in (("add member", self.add_members), ("remove member", self.remove_members),
                           ("add owner", self.add_owners), ("remove owner", self.remove_owners)):  # fmt: skip
            lines += [f"  {label} {i}" for i in ids]
        if self.empty:
            lines.append("  nothing to change")
        return "\n".join(lines)


def _group_of(resource: str) -> str:
    workload, _, group = resource.partition(":")
    if workload != "groups" or not group:
        raise InvalidRequestError(f"not a group resource: {resource!r}")
    return group


def _now(services: Services, group: str, relation: str) -> set[str]:
    url = f"groups/{quote(group, safe='')}/{relation}"
    return {str(o["id"]) for page in services.graph.iter_pages(url, params={"$select": "id"}) for o in page
            if isinstance(o, dict) and o.get("id")}  # fmt: skip


def plan_membership(services: Services, resource: str, run_id: str | None = None) -> MembershipPlan:
    """What applying the membership as of `run_id` (default: the latest run that recorded it) would change."""
    group = _group_of(resource)
    history = services.catalog.history(resource, MEMBERSHIP, group)
    if not history:
        raise NotFoundError(f"no membership of {resource} is backed up")
    version = max(history, key=lambda v: v.first_seen_run) if run_id is None else \
        services.catalog.version_as_of(resource, MEMBERSHIP, group, run_id)  # fmt: skip
    if version is None:
        raise NotFoundError(f"run {run_id} holds no membership of {resource}")
    then = read_snapshot(services, version)
    members, owners = _now(services, group, "members"), _now(services, group, "owners")
    return MembershipPlan(resource, run_id or version.first_seen_run,
                          sorted(set(then["members"]) - members), sorted(members - set(then["members"])),
                          sorted(set(then["owners"]) - owners), sorted(owners - set(then["owners"])))  # fmt: skip


def apply_membership(services: Services, plan: MembershipPlan, *, confirm: bool, actor: str = "cli") -> MembershipPlan:
    """Carry out a plan; refused (InvalidRequestError) without `confirm`. Each change is one Graph call; one that is
    already true (409/400 'already exists' on add, 404 on remove) counts as done; every outcome is audited."""
    if not confirm:
        raise InvalidRequestError("a membership restore changes who is in the group: confirm it (--apply)")
    group = quote(_group_of(plan.resource), safe="")
    base = services.graph.url("directoryObjects")
    steps = [("owners", "add", i) for i in plan.add_owners] + [("members", "add", i) for i in plan.add_members]
    steps += [("members", "remove", i) for i in plan.remove_members] + [
        ("owners", "remove", i) for i in plan.remove_owners
    ]
    for relation, how, user in steps:
        label = f"{how} {relation[:-1]} {user}"
        try:
            if how == "add":
                services.graph.post_json(f"groups/{group}/{relation}/$ref", {"@odata.id": f"{base}/{user}"})
            else:
                services.graph.request("DELETE", f"groups/{group}/{relation}/{quote(user, safe='')}/$ref")
            plan.done.append(label)
        except (GraphConflict, GraphNotFound):
            plan.done.append(f"{label} (already so)")
        except GraphError as exc:
            if how == "add" and exc.status == 400 and "already exist" in str(exc):  # "Add members": already there
                plan.done.append(f"{label} (already so)")
            else:
                plan.failures.append(f"{label}: {exc}")
        except Exception as exc:
            plan.failures.append(f"{label}: {exc}")
    plan.applied = True
    result = "succeeded" if not plan.failures else ("partial" if plan.done else "failed")
    services.audit.append(AuditEntry(actor=actor, actor_name=actor, roles=(), action="membership.restore",
                                     result=result, resource=plan.resource, point=plan.run_id,
                                     counts={"changed": len(plan.done), "failed": len(plan.failures)},
                                     detail="; ".join(plan.done + plan.failures)[:2000]))  # fmt: skip
    return plan


def add_membership_parser(sub: Any) -> None:
    """`python -m core group-membership <resource> [--run R] [--apply]` (core/cli.py adds it)."""
    p = sub.add_parser("group-membership", help="a group's membership as of a run against now: print the plan "
                       "(members and owners to add and remove); change the group only with --apply")  # fmt: skip
    p.add_argument("resource", help="groups:<group id>")
    p.add_argument("--run", help="as of this run id (default: the latest that recorded the membership)")
    p.add_argument("--apply", action="store_true", help="carry the plan out (audited)")
    p.add_argument("--json", action="store_true")


def membership_command(services: Services, args: Any) -> int:
    plan = plan_membership(services, args.resource, args.run)
    if args.apply and not plan.empty:
        plan = apply_membership(services, plan, confirm=True, actor="cli")
    print(json.dumps(plan.to_dict(), indent=2) if args.json else plan.describe() + (
        "".join(f"\n  done: {d}" for d in plan.done) + "".join(f"\n  FAILED: {f}" for f in plan.failures)
        if plan.applied else "\n(nothing changed: --apply carries it out)"))  # fmt: skip
    return 1 if plan.failures else 0
