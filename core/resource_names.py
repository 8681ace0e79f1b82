"""Resources named as people name them: a UPN, a mail address or a site URL resolved to the resource key
('<workload>:<object id>') that the catalog, the restore points and self-service know, or refused. A backup, a
browse or a restore of `exchange:adele@contoso.com` is one of Adele's mailbox, never a second resource under her
address.

    an owner with '@'               a user's UPN or mail address (exchange, onedrive, chats), a team's or group's mail
    an owner starting http(s)://    a site's URL (sharepoint)
    anything else                   an object id, taken as it is (no lookup)

A name is looked up in the directory first (core/storage/directory.py: what discovery recorded, one query), then in
Graph: `users/{upn}`, else `users?$filter=mail eq '…'`; `groups?$filter=mail eq '…'`; `sites/{host}:/{path}`
("Get a site resource by path", https://learn.microsoft.com/graph/api/site-getbypath). A name that neither knows is a
NotFoundError: the CLI's exit 2, the API's 404."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from core.errors import GraphNotFound, InvalidRequestError, NotFoundError
from core.models import ResourceKey
from core.workloads import registry

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.directory import DirectoryEntry

_URL_PREFIXES = ("https://", "http://")


def is_url(text: str) -> bool:
    return text.lower().startswith(_URL_PREFIXES)


def is_name(owner: str) -> bool:
    """An owner that names rather than identifies: a UPN or mail address, or a site URL."""
    return "@" in owner or is_url(owner)


def _norm_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


_GROUPS = "groups"  # the Graph collection a team's or group's mail address is looked up in (a team is a group)


def _kind(workload: str) -> str:
    """What owns a workload's resources in Graph: 'users', 'sites', else a group (teams are groups)."""
    path = registry.workload(workload).owner_path.split("/", 1)[0]
    return path if path in ("users", "sites") else _GROUPS


def _site_workload() -> str:
    """The workload whose owners are sites (a bare site URL names one of its resources)."""
    return next(w.name for w in registry.WORKLOADS.values() if w.owner_path.startswith("sites/"))


def resource_key(services: Services, text: str) -> str:
    """The resource key of `text` ('<workload>:<id, UPN, mail or site URL>'): ids as they are, names resolved."""
    try:
        key = ResourceKey.parse(text)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    registry.workload(key.workload)  # an unknown workload is refused before any lookup
    if not is_name(key.owner):
        return str(text)  # a plain str: a ResourceArg (a str subclass) is refused by the table SDK
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in key.owner):
        raise InvalidRequestError(f"a resource name may not hold spaces or control characters: {key.owner!r}")
    return f"{key.workload}:{owner_id(services, key.workload, key.owner)}"


def owner_id(services: Services, workload: str, name: str) -> str:
    """The object id of the owner `name` names for `workload` (an id is returned as it is)."""
    if not is_name(name):
        return name
    kind = _kind(workload)
    if (kind == "sites") != is_url(name):
        noun = registry.workload(workload).owner_noun
        raise InvalidRequestError(f"{name!r} cannot name a {noun} of {workload}: a site URL names a sharepoint site")
    known = _from_directory(services, kind, name)
    found = known or _from_graph(services, kind, name)
    if not found:
        noun = registry.workload(workload).owner_noun
        raise NotFoundError(f"no {noun} {name!r} in the tenant (give its object id, UPN, mail address or site URL)")
    return found


def _from_directory(services: Services, kind: str, name: str) -> str:
    if services.directory is None:
        return ""
    wanted = _norm_url(name) if kind == "sites" else name.strip().lower()
    for entry in services.directory.all().values():
        if entry.workload in registry.WORKLOADS and _kind(entry.workload) == kind and _matches(entry, kind, wanted):
            return entry.owner
    return ""


def _matches(entry: DirectoryEntry, kind: str, wanted: str) -> bool:
    if kind == "sites":
        return bool(entry.url) and _norm_url(entry.url) == wanted
    return wanted in {entry.upn.lower(), entry.mail.lower()} - {""}


def _first_id(services: Services, path: str, params: dict[str, str] | None = None) -> str:
    try:
        body: Any = services.graph.get_json(path, params=params)
    except GraphNotFound:
        return ""
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        body = body["value"][0] if len(body["value"]) == 1 else {}  # none, or more than one: not this name's
    return str(body.get("id") or "") if isinstance(body, dict) else ""


def _from_graph(services: Services, kind: str, name: str) -> str:
    if kind == "sites":
        parts = urlsplit(name.strip())
        path = parts.path.strip("/")
        where = f"sites/{parts.hostname}:/{quote(path)}" if path else f"sites/{parts.hostname}"
        return _first_id(services, where, {"$select": "id"}) if parts.hostname else ""
    literal = name.strip().replace("'", "''")
    if kind == "users":
        found = _first_id(services, f"users/{quote(name.strip(), safe='@')}", {"$select": "id"})  # a UPN
        if found:
            return found
    return _first_id(services, kind, {"$filter": f"mail eq '{literal}'", "$select": "id"})


class ResourceArg(str):
    """A resource as the command line gave it (an id, UPN, mail address or site URL): resolved by `resolve_args`
    once the services exist."""


def resource_arg(text: str) -> ResourceArg:
    """argparse's type for a resource: '<workload>:<id or name>', a bare site URL (sharepoint) or a bare id or
    name (the first workload's, a mailbox)."""
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError("a resource is '<workload>:<id, UPN, mail address or site URL>'")
    if is_url(text):
        return ResourceArg(f"{_site_workload()}:{text}")
    return ResourceArg(text if ":" in text else f"{registry.workload_names()[0]}:{text}")


def resolve_args(services: Services, args: argparse.Namespace) -> None:
    """Every resource argument of a parsed command line replaced by its key, and a restore target (`to_user`: an
    owner or '<workload>:<owner>') named by UPN, mail address or URL by its id, in the form it was given."""
    for name, value in vars(args).items():
        if isinstance(value, ResourceArg):
            setattr(args, name, resource_key(services, value))
        elif isinstance(value, list) and any(isinstance(v, ResourceArg) for v in value):
            setattr(args, name, [resource_key(services, v) if isinstance(v, ResourceArg) else v for v in value])
    target = getattr(args, "to_user", None)
    resource = getattr(args, "resource", None)
    if isinstance(target, str) and isinstance(resource, str) and ":" in resource:
        workload, sep, owner = target.partition(":")
        if sep and not is_url(target) and workload in registry.WORKLOADS:
            args.to_user = f"{workload}:{owner_id(services, workload, owner)}"
        else:
            args.to_user = owner_id(services, resource.partition(":")[0], target)


def named(entry: DirectoryEntry | None, resource: str) -> dict[str, str]:
    """How listings name a resource: `name` (its label, or the key itself when no name is known), `display_name`
    and `address` (a UPN or mail address, a site URL)."""
    label = entry.label() if entry is not None else ""
    return {
        "name": label or resource,
        "display_name": entry.display_name if entry is not None else "",
        "address": entry.address() if entry is not None else "",
    }


def directory_of(services: Services) -> dict[str, DirectoryEntry]:
    """Every known name (one query); empty without a directory."""
    return services.directory.all() if services.directory is not None else {}


def called(names: dict[str, DirectoryEntry], resource: str) -> str:
    """' (Adele Vance <adele@contoso.com>)' to follow a key in a text listing, '' when no name is known."""
    entry = names.get(resource)
    text = entry.label() if entry is not None else ""
    return f" ({text})" if text else ""


def label(services: Services, resource: str) -> str:
    """'exchange:<id> (Adele Vance <adele@contoso.com>)', or the key alone when no name is known: one read."""
    entry = services.directory.get(resource) if services.directory is not None else None
    return resource + called({resource: entry} if entry is not None else {}, resource)
