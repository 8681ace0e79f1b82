"""The CLI's own commands (core/cli.py parses them): backup, runs, points, items, restore, export. Each prints
text, or JSON with --json, and returns its exit code (core/cli_errors.py). Restores and exports are audited as the
API's are (core/storage/audit_log.py), under the OS user: actor 'cli:<user>'."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from core import work_progress
from core.bootstrap import Services
from core.browse import ItemQuery, find_items
from core.cli_errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from core.errors import InvalidRequestError, NotFoundError
from core.exports.contacts_export import export_contacts_vcf
from core.exports.downloads import open_download, open_zip
from core.exports.events_export import export_events_ics
from core.exports.mail_export import export_mail_zip
from core.lifecycle.holds import Actor
from core.progress import Progress
from core.quarantine_view import points_with_quarantine
from core.resource_names import called, directory_of, label
from core.restore import restore
from core.restore_plan import target_owner
from core.restore_request import RestoreReport, RestoreRequest
from core.runner import run_backup
from core.signals.clean_point import last_clean_point
from core.work_progress import ItemCounter, watching
from core.workloads import registry


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _showing(args: argparse.Namespace) -> bool:
    """A progress line on a terminal only (or when --progress asks): never into --json output or a pipe."""
    asked = getattr(args, "progress", None)
    return (sys.stderr.isatty() and not args.json) if asked is None else asked


def backup_command(services: Services, args: argparse.Namespace) -> int:
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
    for resource in args.resource or ():  # a workload that is not known or not enabled: a usage error
        workload = resource.partition(":")[0]
        if workload not in services.settings.workloads:
            known = workload in registry.workload_names()
            why = "is not enabled (BACKUP_WORKLOADS or --workload)" if known else "is not a known workload"
            enabled = ", ".join(services.settings.workloads)
            raise InvalidRequestError(f"{resource}: {workload!r} {why}; enabled: {enabled}")
    show, bar = _showing(args), []

    def counts() -> dict[str, int]:
        stored = services.content.counts()
        return {"items": stored["blobs"] + stored["deduplicated"], "bytes": stored["bytes"]}

    summary = run_backup(
        services,
        resources=args.resource or None,
        on_plan=lambda n: bar.append(Progress(n, "backup", show, counters=counts)),
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
    names = directory_of(services)  # one query: each resource by name too
    lines += [
        f"  {r['resource']}{called(names, r['resource'])}: {r['status']} items={r['items']} removed={r['removed']}"
        + (f" error={r['error']}" if r.get("error") else "")
        for r in summary["results"]
    ]
    emit(args, summary, "\n".join(lines))
    return {"succeeded": EXIT_OK, "partial": EXIT_PARTIAL, "skipped": EXIT_PARTIAL}.get(summary["status"], EXIT_FAILED)


def items_command(services: Services, args: argparse.Namespace) -> int:
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
    text = [f"{label(services, args.resource)} as of run {run_id}: {len(items)} item(s)"]  # by name too
    text += [f"  {i['id']}  {i['folder']}  {i['received']}  {i['sender']}  {i['subject']}" for i in items]
    data = {
        "resource": args.resource,
        "run_id": run_id,
        "category": registry.category_for(args.resource, args.category).name,
    }
    emit(args, {**data, "items": items}, "\n".join(text))
    return EXIT_OK


def _restore_requests(args: argparse.Namespace) -> list[RestoreRequest]:
    """One request, or with --all and no --category one per category of the workload (a mailbox's mail, contacts,
    events, tasks, archive): the whole resource. Every request is checked before anything is restored."""
    base = RestoreRequest(
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
        use_suspicious=getattr(args, "use_suspicious", False),
    )
    if not args.all or args.category is not None:
        return [base]
    categories = registry.workload(base.key.workload).categories
    return [base] + [replace(base, category=c.name) for c in categories[1:]]


def _merge(reports: list[RestoreReport]) -> RestoreReport:
    merged = reports[0]
    for other in reports[1:]:
        merged.restored += other.restored
        merged.skipped += other.skipped
        merged.failed += other.failed
        merged.items += other.items
        merged.failures += other.failures
    return merged


def restore_command(services: Services, args: argparse.Namespace) -> int:
    requests = _restore_requests(args)
    request = requests[0]
    declared = registry.workload(request.key.workload)
    if declared.check_target is not None:  # a user without a mailbox: refused before anything is written
        declared.check_target(services, target_owner(request) or request.key.owner)
    actor = Actor.cli()
    scope = {"item_ids": list(request.item_ids), "folder": request.folder, "whole": request.whole,
             "category": args.category or ("every" if args.all else request.category)}  # fmt: skip
    destination = request.destination + (f"; another resource: {args.to_user}" if args.to_user else "")
    show = _showing(args)  # items done of the selection (core/work_progress.py), bytes restored, requests, ETA
    bar = Progress(0, "restore", show, unit="items")
    counter = ItemCounter(bar)
    bar.counters = lambda: {"requests": services.graph.stats()["requests"], "bytes": counter.bytes}
    reports: list[RestoreReport] = []
    try:
        with watching(counter if show else None):
            for one in requests:
                try:
                    reports.append(restore(services, one))
                except NotFoundError:
                    if len(requests) == 1:
                        raise  # --all over every category: a category with nothing backed up is not an error
    except BaseException as exc:
        bar.close()
        services.audit.append(actor.audit("restore", "failed", resource=request.resource, scope=scope,
                                          point=str(request.run_id or request.at or ""), destination=destination,
                                          detail=f"cli: {type(exc).__name__}: {exc}"[:1000]))  # fmt: skip
        raise
    bar.close()
    if not reports:
        raise NotFoundError(f"nothing of {request.resource} to restore as of that point")
    report = _merge(reports)
    counts = {"restored": report.restored, "skipped": report.skipped, "failed": report.failed}
    services.audit.append(actor.audit("restore", "succeeded" if report.failed == 0 else "partial",
                                      resource=request.resource, scope=scope, point=report.run_id,
                                      destination=destination, counts=counts, detail="cli"))  # fmt: skip
    text = (
        f"restored {report.restored}, skipped {report.skipped}, failed {report.failed} "
        f"as of run {report.run_id} into {report.target_owner}"
        + (f" / {report.destination}" if report.destination else " (original folders)")
    )
    text += "".join(f"\n  failed {f['item_id']}: {f['error']}" for f in report.failures)
    meetings = sum(1 for i in report.items if i.get("attendees_omitted"))
    if meetings:
        text += f"\n  {meetings} meeting(s) restored without their attendees: nothing sent (see --notify-attendees)"
    text += f"\n  note: {report.point_note}" if report.point_note else ""  # the last clean point was used
    emit(args, report.to_dict(), text)
    return EXIT_OK if report.failed == 0 else EXIT_PARTIAL


def runs_command(services: Services, args: argparse.Namespace) -> int:
    runs = services.runs.list(args.limit)
    text = (
        "\n".join(
            f"{r['run_id']}  {r['status']:<10} {r['trigger']:<8} resources={r['resources']} "
            f"items={r['items']} bytes={r['bytes']} failed={r['failed']}"
            for r in runs
        )
        or "no runs"
    )
    emit(args, runs, text)
    return EXIT_OK


def points_command(services: Services, args: argparse.Namespace) -> int:
    """Each point with `quarantined`: the items held in quarantine as of it (core/quarantine_view.py)."""
    points = points_with_quarantine(services, args.resource)
    if not points:  # as `items` does: an unknown resource is an error, not an empty listing
        raise NotFoundError(f"no restore points of {args.resource}: it was never backed up (see `runs`)")
    lines = [
        f"{p['run_id']}  {p['status']:<10} items={p['items']} removed={p['removed']} "
        f"failed_items={p['failed_items']} quarantined={len(p['quarantined'])}"
        + ("  SUSPICIOUS: " + "; ".join(p["suspicious_reasons"]) if p.get("suspicious") else "")
        for p in points
    ]
    if any(p.get("suspicious") for p in points):  # the ransomware signal (core/signals/)
        lines.append(f"last clean point: {last_clean_point(points) or 'none'} (--run last-clean names it)")
    kind = next((p["kind"] for p in reversed(points) if p.get("kind")), "")
    lines.insert(0, label(services, args.resource) + (f" ({kind})" if kind else ""))  # its name; a shared mailbox
    hold = services.holds.get(args.resource) if services.holds is not None else None
    if hold:  # nothing removes a held resource's points (core/lifecycle/holds.py)
        lines.append(f"on legal hold since {hold['placed_at']} by {hold['placed_by']}: {hold['reason']}")
    notes = points[-1].get("notes") if points else []
    lines += [f"note: {n}" for n in notes or ()]  # what the latest backup said (a link kept, a kind not read)
    held = points[-1]["quarantined"] if points else []
    if held:
        lines.append(f"held in quarantine as of the latest point ({len(held)}), retried on every run:")
        lines += [f"  {i['category']} {i['item_id']}  since {i['first_run']}  {i['error']}" for i in held]
    emit(args, points, "\n".join(lines))
    return EXIT_OK


class _Counted:
    """The output of an export, counting the bytes written for the progress line."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.bytes = 0

    def write(self, data: bytes) -> int:
        n = self.out.write(data) or 0
        self.bytes += len(data)
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)


@contextlib.contextmanager
def output_file(path: str) -> Iterator[IO[bytes]]:
    """Standard output for '-', else a temporary file beside `path`, renamed to it only when the export
    succeeded: a failed export leaves no file, and no 0-byte one. A folder that does not exist is a usage error."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise InvalidRequestError(f"--out {path}: the folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise InvalidRequestError(f"--out {path} is a folder: give a file name")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def export_command(services: Services, args: argparse.Namespace) -> int:
    run_id = services.runs.resolve_point(args.resource, args.run, args.at)
    actor = Actor.cli()
    scope = {"item_ids": [args.item] if args.item else [], "folder": args.folder, "category": args.category,
             "format": next(flag for flag in ("--item", "--zip", "--mail", "--contacts", "--events")
                            if getattr(args, flag[2:]))}  # fmt: skip
    with output_file(args.out) as raw:
        out = _Counted(raw)
        show = _showing(args) and args.out != "-"  # items written of those selected, bytes, ETA
        bar = Progress(0, "export", show, counters=lambda: {"bytes": out.bytes}, unit="items")
        try:
            with watching(ItemCounter(bar) if show else None):
                result = _export_into(services, args, run_id, out)
        except BaseException as exc:
            bar.close()
            services.audit.append(actor.audit("export", "failed", resource=args.resource, scope=scope, point=run_id,
                                              detail=f"cli: {type(exc).__name__}: {exc}"[:1000]))  # fmt: skip
            raise
        bar.close()
    services.audit.append(actor.audit("export", "succeeded", resource=args.resource, scope=scope, point=run_id,
                                      counts={"bytes": out.bytes}, detail=f"cli: {args.out}"))  # fmt: skip
    if args.out != "-":
        emit(args, result, f"exported to {args.out}: " + ", ".join(f"{k}={v}" for k, v in result.items()))
    return EXIT_OK


def _export_into(services: Services, args: argparse.Namespace, run_id: str, out: Any) -> dict[str, Any]:
    if args.item:  # as its category renders it (a mailbox item without --category: a message, as .eml)
        download = open_download(services, args.resource, args.item, run_id=run_id, category=args.category)
        work_progress.plan(1)
        written = 0
        for chunk in download.chunks:
            written += out.write(chunk)
        work_progress.finished(args.item)
        return {"run_id": run_id, "bytes": written, "name": download.filename}
    if args.zip:
        export = open_zip(services, args.resource, folder=args.folder, run_id=run_id, category=args.category)
        return {"run_id": run_id, **export.write_to(out)}
    if args.mail:
        return export_mail_zip(services, args.resource, run_id, out, folder=args.folder)
    if args.events:
        return export_events_ics(services, args.resource, run_id, out, calendar=args.folder)
    return export_contacts_vcf(services, args.resource, run_id, out, folder=args.folder)
