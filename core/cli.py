"""`python -m core`: backup, browse and restore from the command line, with the same core services as the
Functions app. Every listing takes --json."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.bootstrap import Services, build_services
from core.browse import ItemQuery, find_items
from core.config import load_settings, settings_help
from core.errors import BackupError
from core.exports.contacts_export import export_contacts_vcf
from core.exports.downloads import open_download, open_zip
from core.exports.events_export import export_events_ics
from core.exports.mail_export import export_mail_zip
from core.keys.keys_cli import add_keys_parser, keys_command
from core.lifecycle.erasure_cli import add_erasure_parsers, erase_command, erasures_command
from core.lifecycle.holds_cli import add_hold_parser, hold_command
from core.lifecycle.protection_cli import add_protect_parser, protect_command
from core.lifecycle.purge_cli import add_purge_parsers, purge_command, purges_command
from core.progress import Progress
from core.quarantine_view import points_with_quarantine
from core.rebuild_catalog import add_rebuild_parser, rebuild_command
from core.restore import restore
from core.restore_plan import target_owner
from core.restore_request import CONFLICT_POLICIES, DESTINATIONS, RestoreRequest
from core.retention_cli import add_retention_parser, retention_command
from core.runner import run_backup
from core.verify_cli import add_verify_parsers, verifications_command, verify_command
from core.workloads import registry
from core.workloads.groups.membership_restore import add_membership_parser, membership_command

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_FAILED = 0, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {text}Z")
    return value


def _resource(text: str) -> str:
    """'<workload>:<owner id>' ('exchange:<user id>', 'sharepoint:<site id>'), or a bare id of the first workload's
    owner (a user id, for Exchange)."""
    return text if ":" in text else f"{registry.workload_names()[0]}:{text}"


_CATEGORY_HELP = "what kind of item, by workload (default: the first): " + "; ".join(
    f"{w.name}: {', '.join(c.name for c in w.categories)}" for w in registry.WORKLOADS.values()
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Microsoft 365 backup to Azure Storage: run backups, browse them, restore from them.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("backup", help="run a backup now (all discovered resources, or --resource)")
    p.add_argument("--resource", action="append", type=_resource, help="back up only this resource (repeatable)")
    p.add_argument(
        "--workload",
        action="append",
        choices=registry.workload_names(),
        help=f"{', '.join(registry.workload_names())} (default: the setting)",
    )
    p.add_argument("--include-user", action="append", default=[], help="only these users (id or UPN)")
    p.add_argument("--exclude-user", action="append", default=[], help="never these users")
    p.add_argument("--include-site", action="append", default=[], help="only these site URLs (and subsites)")
    p.add_argument("--exclude-site", action="append", default=[], help="never these site URLs")
    p.add_argument("--exclude-library", action="append", default=[], help="skip libraries of this name")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("runs", help="list backup runs, newest first")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("points", help="list the restore points of a resource")
    p.add_argument("resource", type=_resource)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("items", help="browse/search a resource as of a run")
    p.add_argument("resource", type=_resource)
    _point_args(p)
    p.add_argument("--folder", help="this folder path and below, e.g. Inbox/Projects")
    p.add_argument("--category", choices=registry.category_names(), help=_CATEGORY_HELP)
    p.add_argument("--subject", help="subject (mail, events) or name contains (case-insensitive)")
    p.add_argument("--name", help="name contains: a file's, a contact's display name, a subject (case-insensitive)")
    p.add_argument("--sender", help="sender address contains (case-insensitive)")
    p.add_argument("--recipient", help="a to/cc/bcc address contains (mail, case-insensitive)")
    attachments = p.add_mutually_exclusive_group()
    attachments.add_argument("--has-attachments", action="store_true", default=None, help="with attachments (mail)")
    attachments.add_argument("--no-attachments", dest="has_attachments", action="store_false", help="without them")
    p.add_argument("--after", type=_time, help="received (mail) / modified (files) at or after this time")
    p.add_argument("--before", type=_time, help="received (mail) / modified (files) before this time")
    p.add_argument("--limit", type=int, default=0, help="at most this many (0: all)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("restore", help="restore items, a folder or a whole mailbox/drive/site as of a run")
    p.add_argument("resource", type=_resource)
    _point_args(p)
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--item", action="append", help="an item id (repeatable)")
    scope.add_argument("--folder", help="a folder path: the folder and everything below it")
    scope.add_argument("--all", action="store_true", help="the whole resource")
    p.add_argument("--destination", choices=DESTINATIONS, default="original")
    p.add_argument(
        "--to-user",
        "--to-resource",
        dest="to_user",
        help="restore into this user's mailbox/OneDrive (user id) or this site (site id) instead",
    )
    p.add_argument("--conflict", choices=CONFLICT_POLICIES, default="skip")
    p.add_argument("--category", choices=registry.category_names(), help=_CATEGORY_HELP)
    p.add_argument(
        "--notify-attendees",
        action="store_true",
        help="events: recreate meetings with their attendees, so Exchange SENDS them invitations (default: none "
        "sent, attendees listed in the event's body)",
    )
    p.add_argument("--json", action="store_true")
    p = sub.add_parser(
        "export",
        help="export as standard files: one item as its category renders it (a message .eml, a file, a contact "
        ".vcf, ...), any category as a zip (--zip), mail as a zip of .eml, contacts as .vcf, events as .ics",
    )
    p.add_argument("resource", type=_resource)
    _point_args(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--item", help="one item (a message as .eml unless --category says otherwise)")
    what.add_argument("--zip", action="store_true", help="the --category (or --folder and below) as a zip")
    what.add_argument("--mail", action="store_true", help="the mailbox (or --folder) as a zip of .eml files")
    what.add_argument("--contacts", action="store_true", help="the contacts (or --folder) as one .vcf file")
    what.add_argument("--events", action="store_true", help="the calendar events (or --folder CALENDAR) as .ics")
    p.add_argument("--category", choices=registry.category_names(), help=_CATEGORY_HELP)
    p.add_argument("--folder", help="only this folder and below")
    p.add_argument("--out", required=True, help="file to write ('-' for standard output)")
    p.add_argument("--json", action="store_true")
    add_membership_parser(sub)  # a group's membership restore: an explicit operator action
    add_verify_parsers(sub, _resource)  # read the content back against its hashes
    add_rebuild_parser(sub)  # the tables again from the journal
    add_retention_parser(sub, _resource)  # the retention dry run
    add_purge_parsers(sub, _resource)  # retention applied: purge, purges
    add_hold_parser(sub, _resource)  # legal holds: place, release, list
    add_protect_parser(sub, _resource)  # immutability renewed for what retained points need
    add_keys_parser(sub)  # the content keys: status, rotate
    add_erasure_parsers(sub)  # erasure of one person's data: plan, confirmation, records
    return parser


def _point_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--run", help="as of this run id (default: the latest usable)")
    group.add_argument("--at", type=_time, help="as of the last backup at or before this time")


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _backup(services: Services, args: argparse.Namespace) -> int:
    s = services.settings
    services.settings = replace(
        s,
        workloads=tuple(args.workload) if args.workload else s.workloads,
        include_users=s.include_users + tuple(args.include_user),
        exclude_users=s.exclude_users + tuple(args.exclude_user),
        include_sites=s.include_sites + tuple(args.include_site),
        exclude_sites=s.exclude_sites + tuple(args.exclude_site),
        exclude_libraries=s.exclude_libraries + tuple(args.exclude_library),
    )
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar: list[Progress] = []
    summary = run_backup(
        services,
        resources=args.resource,
        on_plan=lambda n: bar.append(Progress(n, "backup", show)),
        on_resource=lambda r: bar[0].advance(f"{r['resource']} {r['status']}"),
    )
    if bar:
        bar[0].close()
    lines = [
        f"run {summary['run_id']}: {summary['status']} - {summary['resources']} resources "
        f"({summary['succeeded']} ok, {summary['partial']} partial, {summary['failed']} failed, "
        f"{summary['skipped']} skipped), {summary['items']} new item versions, {summary['bytes']} bytes written, "
        f"{summary['removed']} removed, {summary['failed_items']} failed items"
    ]
    lines += [
        f"  {r['resource']}: {r['status']} items={r['items']} removed={r['removed']}"
        + (f" error={r['error']}" if r.get("error") else "")
        for r in summary["results"]
    ]
    _emit(args, summary, "\n".join(lines))
    return {"succeeded": EXIT_OK, "partial": EXIT_PARTIAL, "skipped": EXIT_PARTIAL}.get(summary["status"], EXIT_FAILED)


def _items(services: Services, args: argparse.Namespace) -> int:
    query = ItemQuery(
        args.resource,
        args.run,
        args.at,
        folder=args.folder,
        subject=args.subject,
        sender=args.sender,
        after=args.after,
        before=args.before,
        recipient=args.recipient,
        has_attachments=args.has_attachments,
        name=args.name,
        category=args.category,
    )
    run_id, found = find_items(services, query)
    items = []
    for item in found:
        items.append(item)
        if args.limit and len(items) >= args.limit:
            break
    text = [f"{args.resource} as of run {run_id}: {len(items)} item(s)"]
    text += [f"  {i['id']}  {i['folder']}  {i['received']}  {i['sender']}  {i['subject']}" for i in items]
    data = {
        "resource": args.resource,
        "run_id": run_id,
        "category": registry.category_for(args.resource, args.category).name,
    }
    _emit(args, {**data, "items": items}, "\n".join(text))
    return EXIT_OK


def _restore(services: Services, args: argparse.Namespace) -> int:
    request = RestoreRequest(
        resource=args.resource,
        run_id=args.run,
        at=args.at,
        item_ids=tuple(args.item or ()),
        folder=args.folder,
        whole=args.all,
        destination=args.destination,
        target_owner=args.to_user,
        conflict=args.conflict,
        category=args.category,
        notify_attendees=args.notify_attendees,
    )
    declared = registry.workload(request.key.workload)
    if declared.check_target is not None:  # a user without a mailbox: refused before anything is written
        declared.check_target(services, target_owner(request) or request.key.owner)
    report = restore(services, request)
    text = (
        f"restored {report.restored}, skipped {report.skipped}, failed {report.failed} "
        f"as of run {report.run_id} into {report.target_owner}"
        + (f" / {report.destination}" if report.destination else " (original folders)")
    )
    text += "".join(f"\n  failed {f['item_id']}: {f['error']}" for f in report.failures)
    meetings = sum(1 for i in report.items if i.get("attendees_omitted"))
    if meetings:
        text += f"\n  {meetings} meeting(s) restored without their attendees: nothing sent (see --notify-attendees)"
    _emit(args, report.to_dict(), text)
    return EXIT_OK if report.failed == 0 else EXIT_PARTIAL


def _runs(services: Services, args: argparse.Namespace) -> int:
    runs = services.runs.list(args.limit)
    text = (
        "\n".join(
            f"{r['run_id']}  {r['status']:<10} {r['trigger']:<8} resources={r['resources']} "
            f"items={r['items']} bytes={r['bytes']} failed={r['failed']}"
            for r in runs
        )
        or "no runs"
    )
    _emit(args, runs, text)
    return EXIT_OK


def _points(services: Services, args: argparse.Namespace) -> int:
    """Each point with `quarantined`: the items held in quarantine as of it (core/quarantine_view.py)."""
    points = points_with_quarantine(services, args.resource)
    lines = [
        f"{p['run_id']}  {p['status']:<10} items={p['items']} removed={p['removed']} "
        f"failed_items={p['failed_items']} quarantined={len(p['quarantined'])}"
        for p in points
    ]
    kind = next((p["kind"] for p in reversed(points) if p.get("kind")), "")
    if kind:
        lines.insert(0, f"{args.resource} ({kind})")  # e.g. a shared mailbox
    hold = services.holds.get(args.resource) if services.holds is not None else None
    if hold:  # nothing removes a held resource's points (core/lifecycle/holds.py)
        lines.append(f"on legal hold since {hold['placed_at']} by {hold['placed_by']}: {hold['reason']}")
    notes = points[-1].get("notes") if points else []
    lines += [f"note: {n}" for n in notes or ()]  # what the latest backup said (a link kept, a kind not read)
    held = points[-1]["quarantined"] if points else []
    if held:
        lines.append(f"held in quarantine as of the latest point ({len(held)}), retried on every run:")
        lines += [f"  {i['category']} {i['item_id']}  since {i['first_run']}  {i['error']}" for i in held]
    _emit(args, points, "\n".join(lines) or "no restore points")
    return EXIT_OK


def _export(services: Services, args: argparse.Namespace) -> int:
    run_id = services.runs.resolve_point(args.resource, args.run, args.at)
    with contextlib.ExitStack() as stack:
        out = sys.stdout.buffer if args.out == "-" else stack.enter_context(open(args.out, "wb"))
        if args.item:  # as its category renders it (a mailbox item without --category: a message, as .eml)
            download = open_download(services, args.resource, args.item, run_id=run_id, category=args.category)
            written = 0
            for chunk in download.chunks:
                written += out.write(chunk)
            result: dict[str, Any] = {"run_id": run_id, "bytes": written, "name": download.filename}
        elif args.zip:
            export = open_zip(services, args.resource, folder=args.folder, run_id=run_id, category=args.category)
            result = {"run_id": run_id, **export.write_to(out)}
        elif args.mail:
            result = export_mail_zip(services, args.resource, run_id, out, folder=args.folder)
        elif args.events:
            result = export_events_ics(services, args.resource, run_id, out, calendar=args.folder)
        else:
            result = export_contacts_vcf(services, args.resource, run_id, out, folder=args.folder)
    if args.out != "-":
        _emit(args, result, f"exported to {args.out}: " + ", ".join(f"{k}={v}" for k, v in result.items()))
    return EXIT_OK


COMMANDS = {
    "export": _export,
    "backup": _backup,
    "items": _items,
    "restore": _restore,
    "runs": _runs,
    "points": _points,
    "group-membership": membership_command,
    "verify": verify_command,
    "rebuild-catalog": rebuild_command,
    "retention": retention_command,
    "purge": purge_command,
    "purges": purges_command,
    "verifications": verifications_command,
    "hold": hold_command,
    "protect": protect_command,
    "keys": keys_command,
    "erase": erase_command,
    "erasures": erasures_command,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        services = build_services(load_settings())
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)  # as Ctrl-C: a backup records itself as interrupted
    try:
        return COMMANDS[args.command](services, args)
    except BackupError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"interrupted: {args.command} stopped (a backup run is recorded as interrupted)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        services.close()


def _terminated(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
