"""`python -m core`: backup, browse and restore from the command line, with the same core services as the
Functions app. Every listing takes --json."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.bootstrap import build_services
from core.cli_commands import (
    backup_command,
    export_command,
    items_command,
    points_command,
    restore_command,
    runs_command,
)
from core.cli_errors import (
    EXIT_INTERRUPTED,
    OneLineFormatter,
    install_interrupts,
    is_pipe_closed,
    leave,
    pipe_closed,
    report,
)
from core.cli_help import CliParser
from core.config import load_settings, settings_help
from core.keys.keys_cli import add_keys_parser, keys_command
from core.lifecycle.erasure_cli import add_erasure_parsers, erase_command, erasures_command
from core.lifecycle.holds_cli import add_hold_parser, hold_command
from core.lifecycle.protection_cli import add_protect_parser, protect_command
from core.lifecycle.purge_cli import add_purge_parsers, purge_command, purges_command
from core.rebuild_catalog import add_rebuild_parser, rebuild_command
from core.report_cli import add_report_parser, report_command
from core.resource_names import resolve_args, resource_arg
from core.restore_request import CONFLICT_POLICIES, DESTINATIONS
from core.retention_cli import add_retention_parser, retention_command
from core.signals.clear_flag_cli import add_clear_parser, clear_command
from core.verify_cli import add_verify_parsers, verifications_command, verify_command
from core.workloads import registry
from core.workloads.groups.membership_restore import add_membership_parser, membership_command

REPO = Path(__file__).resolve().parent.parent


def _time(text: str) -> datetime:
    """An ISO 8601 time with its zone. The hint never repeats a zone already given: a date alone with a Z or an
    offset (which Python drops) is asked for a time, a time without a zone is shown with a Z."""
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in ("Z", "z") else raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-03-01T00:00:00Z)") from None
    if value.tzinfo is None:
        if "T" not in raw.upper() and len(raw) > 10:  # '2026-03-01Z', '2026-03-01+01:00': the zone was dropped
            raise argparse.ArgumentTypeError(f"{text!r}: a date alone takes no time zone; give a time with it, e.g. "
                                             f"{raw[:10]}T00:00:00Z")  # fmt: skip
        example = f"{raw}Z" if "T" in raw.upper() else f"{raw}T00:00:00Z"
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {example}")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    """An integer option of at least `minimum` (`runs --limit -1` is refused, not read as 'drop one')."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _resource(text: str) -> str:
    """'<workload>:<owner id, UPN, mail address or site URL>', a bare site URL, or a bare id or name of the first
    workload's owner (a user, for Exchange): names are resolved to ids once the services exist (resolve_args)."""
    return resource_arg(text)


_CATEGORY_HELP = "what kind of item, by workload (default: the first): " + "; ".join(
    f"{w.name}: {', '.join(c.name for c in w.categories)}" for w in registry.WORKLOADS.values()
)
_PROGRESS_HELP = (
    "a progress line on stderr: items done of those selected, bytes, ETA (default: on a terminal, without --json)"
)


def _program_name() -> str:
    """How the user called us: the `m365-backup` console script, or `python -m core`."""
    return "m365-backup" if Path(sys.argv[0]).name == "m365-backup" else "python -m core"


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        top=True,
        prog=_program_name(),
        description="Microsoft 365 backup to Azure Storage: run backups, browse them, restore from them. "
        "(Installed, the same CLI is the `m365-backup` command.)",
        epilog=settings_help(),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details; tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
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
    p.add_argument("--limit", type=_count(1), default=20)
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
    p.add_argument("--limit", type=_count(0), default=0, help="at most this many (0: all)")
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
        help="restore into this user's mailbox/OneDrive or this site instead: its id, or its resource key "
        "('onedrive:<user id>', as the API takes it)",
    )
    p.add_argument("--conflict", choices=CONFLICT_POLICIES, default="skip")
    p.add_argument("--category", choices=registry.category_names(), help=_CATEGORY_HELP)
    p.add_argument(
        "--notify-attendees",
        action="store_true",
        help="events: recreate meetings with their attendees, so Exchange SENDS them invitations (default: none "
        "sent, attendees listed in the event's body)",
    )
    p.add_argument(
        "--use-suspicious",
        action="store_true",
        help="with no --run/--at, restore as of the newest point even when it is flagged suspicious (default: the "
        "last clean point; --run last-clean names it)",
    )
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help=_PROGRESS_HELP)
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
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help=_PROGRESS_HELP)
    p.add_argument("--json", action="store_true")
    add_membership_parser(sub)  # a group's membership restore: an explicit operator action
    add_verify_parsers(sub, _resource)  # read the content back against its hashes
    add_rebuild_parser(sub)  # the tables again from the journal
    add_retention_parser(sub, _resource)  # the retention dry run
    add_purge_parsers(sub, _resource)  # retention applied: purge, purges
    add_hold_parser(sub, _resource)  # legal holds: place, release, list
    add_clear_parser(sub, _resource)  # a false-positive ransomware flag cleared
    add_protect_parser(sub, _resource)  # immutability renewed for what retained points need
    add_keys_parser(sub)  # the content keys: status, rotate
    add_erasure_parsers(sub)  # erasure of one person's data: plan, confirmation, records
    add_report_parser(sub)  # the protection report: every resource by name, its state against the RPO
    return parser


def _point_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--run", help="as of this run id, or 'last-clean': the newest not flagged suspicious "
                       "(default: the latest usable)")  # fmt: skip
    group.add_argument("--at", type=_time, help="as of the last backup at or before this time")


COMMANDS = {
    "export": export_command,
    "backup": backup_command,
    "items": items_command,
    "restore": restore_command,
    "runs": runs_command,
    "points": points_command,
    "group-membership": membership_command,
    "verify": verify_command,
    "rebuild-catalog": rebuild_command,
    "retention": retention_command,
    "purge": purge_command,
    "purges": purges_command,
    "verifications": verifications_command,
    "hold": hold_command,
    "clear-suspicious": clear_command,
    "protect": protect_command,
    "keys": keys_command,
    "erase": erase_command,
    "erasures": erasures_command,
    "report": report_command,
}


def version() -> str:
    """The project's version: the installed distribution's, else pyproject.toml's (a checkout)."""
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        return installed("m365-backup")
    except PackageNotFoundError:
        import tomllib

        try:
            return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
        except (OSError, KeyError, ValueError):
            return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (core/cli_errors.py). Errors are one line (a traceback with -v)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.verbose:  # a logged failure is one line too: its traceback only with -v
        for handler in logging.getLogger().handlers:
            handler.setFormatter(OneLineFormatter("%(levelname)s %(message)s"))
    if threading.current_thread() is threading.main_thread():
        install_interrupts()  # Ctrl-C: stop starting work, record the run as interrupted, exit 130
    services = None
    try:
        services = build_services(load_settings(), probe_storage=True)  # unreachable storage: fails in seconds
        resolve_args(services, args)  # UPNs, mail addresses and site URLs to resource keys (core/resource_names.py)
        return COMMANDS[args.command](services, args)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {args.command} stopped (a backup run is recorded as interrupted)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if is_pipe_closed(exc):
            pipe_closed()
        return report(exc, args.verbose)
    finally:
        if services is not None:
            services.close()


def run() -> None:
    """The console script `m365-backup` and `python -m core`: main(), then exit with its code (at once after an
    interrupt, without waiting for worker threads still finishing a request)."""
    try:
        code = main()
    except BrokenPipeError:
        pipe_closed()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pipe_closed()
    leave(code)
