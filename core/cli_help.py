"""Examples for each command's --help (the argparse epilog), and the parser class every CLI parser is made of:
no abbreviated options (`--progres` is refused, not taken for `--progress`), -v accepted after the subcommand
too, the examples printed as written."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES: dict[str, str] = {
    "backup": """\
  python -m core backup                                   # every discovered resource of BACKUP_WORKLOADS
  python -m core backup --resource exchange:<user id> --progress""",
    "runs": "  python -m core runs --limit 5\n  python -m core runs --json | jq '.[0].status'",
    "points": "  python -m core points exchange:<user id>\n  python -m core points onedrive:<user id> --json",
    "items": """\
  python -m core items <user id> --folder Inbox/Projects --subject budget
  python -m core items sharepoint:<site id> --category listitem --at 2026-03-01T00:00:00Z""",
    "restore": """\
  python -m core restore <user id> --item <message id> --destination new-folder
  python -m core restore onedrive:<user id> --folder /Documents --to-resource onedrive:<other user id>
  python -m core restore <user id> --all --run <run id> --conflict skip  # every category of the mailbox""",
    "export": """\
  python -m core export <user id> --mail --folder Inbox --out inbox.zip
  python -m core export onedrive:<user id> --item <file id> --out report.docx""",
    "verify": "  python -m core verify --sample 10\n  python -m core verify --resource exchange:<user id> --json",
    "verifications": "  python -m core verifications --limit 3",
    "retention": "  python -m core retention --resource exchange:<user id>",
    "rebuild-catalog": "  python -m core rebuild-catalog",
    "group-membership": "  python -m core group-membership groups:<group id>            # the plan\n"
    "  python -m core group-membership groups:<group id> --apply    # carry it out",
    "purge": "  python -m core purge --dry-run",
    "purges": "  python -m core purges --limit 5",
    "clear-suspicious": "  python -m core clear-suspicious exchange:<user id> <run id> --reason 'planned rename'",
    "hold": "  python -m core hold place --resource exchange:<user id> --reason 'case 42'\n  python -m core hold list",
    "protect": "  python -m core protect --resource exchange:<user id>",
    "keys": "  python -m core keys status\n  python -m core keys rotate",
    "erase": "  python -m core erase --user <user id>                  # the plan and its code\n"
    "  python -m core erase --user <user id> --confirm <code>",
    "erasures": "  python -m core erasures",
}


class CliParser(argparse.ArgumentParser):
    """Every parser of the CLI (subparsers are made of their parent's class)."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        command = self.prog.split()[-1] if self.prog else ""
        if self.epilog is None and command in EXAMPLES:
            self.epilog = "examples:\n" + EXAMPLES[command]
        if not top:  # a subcommand: -v after it means the same as before it
            self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                              help="log details; tracebacks on errors")  # fmt: skip
