"""The neutral container of a delta category: what a round runs over (a mail folder, a contact folder, a calendar,
a drive), and what its container version records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Container:
    id: str
    name: str  # its display name
    parent_id: str  # '' for a top container
    path: str  # names from the top, joined by core.workloads.folder_paths.join_path (a drive: its name)
    # a top mail folder's well-known name ('inbox', ...; '' when it has none); None where that was not looked up
    well_known: str | None = None

    @property
    def signature(self) -> str:
        """What makes a new container version: parent and path, and where a well-known name was looked up, that
        name ('-' for none), so a backup knows which of its folders was the Inbox whatever its display name."""
        signature = f"{self.parent_id}\n{self.path}"
        return f"{signature}\n{self.well_known or '-'}" if self.well_known is not None else signature
