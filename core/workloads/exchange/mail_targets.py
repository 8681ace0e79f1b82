"""Where restored messages go: the target folder of each backed-up folder path, and what each target folder already
holds, each found out at most once per restore.

A path is resolved from its parent's resolution, so a tree costs one listing per folder that existed before and one
create per folder that did not; a folder this restore made holds nothing yet, so neither its children nor its
messages are listed (a create that Graph answers with "exists", because a part running beside this one made it
first, falls back to a listing). In the original mailbox a message goes back to its folder by id when that folder
still exists; a well-known folder of the backup (Inbox, Sent Items, ...) is the target mailbox's folder of that
well-known name, whatever its display name there.

A restore job resolves every target folder once, when it is planned (`prepare`), and keeps the result with the job
(`RestoreJobStore.save_folders`); its parts then start from that (`prepared=`) and ask Graph nothing about folders."""

from __future__ import annotations

from urllib.parse import quote

from core.errors import GraphNotFound
from core.graph.client import GraphClient
from core.workloads.exchange import mail_folders, restore_marker
from core.workloads.exchange.restore_marker import ExistingKeys
from core.workloads.folder_paths import join_path, split_path

Resolved = tuple[str, bool]  # (folder id, made by this restore)
ROOT = ""  # the path of the folder a restore goes under (the new 'Restored ...' folder), when it has one


def messages_url(user: str, folder_id: str) -> str:
    return f"users/{quote(user, safe='')}/mailFolders/{quote(folder_id, safe='')}/messages"


class MailTargets:
    def __init__(
        self,
        graph: GraphClient,
        target: str,
        *,
        same_mailbox: bool,
        well_known: dict[str, str],
        under: Resolved | None = None,
        prepared: dict[str, Resolved] | None = None,
    ) -> None:
        """`target`: the mailbox restored into; `under`: the folder everything goes below (a new-folder restore),
        else the original paths from the top of the mailbox; `well_known`: top folder path -> its well-known name
        in the backup; `prepared`: paths resolved before (by the job's planning)."""
        self._graph, self._target = graph, target
        self._same_mailbox = same_mailbox and under is None
        self._well_known = well_known if under is None else {}
        self._paths: dict[str, Resolved] = dict(prepared or {})
        if under is not None:
            self._paths.setdefault(ROOT, under)
        self._under = self._paths.get(ROOT)
        self._children: dict[str | None, dict[str, str]] = {}
        self._keys: dict[str, ExistingKeys] = {}

    def folder(self, folder_id: str, path: str) -> str:
        """The id of the folder a message (in folder `folder_id` at `path` as of the run) is restored into."""
        if path in self._paths:
            return self._paths[path][0]
        if self._same_mailbox and mail_folders.folder_exists(self._graph, self._target, folder_id):
            self._paths[path] = (folder_id, False)
            return folder_id
        return self._resolve(path)[0]

    def resolved(self) -> dict[str, Resolved]:
        """Every path resolved so far (with ROOT for the folder everything goes below): what a job keeps."""
        return dict(self._paths)

    def keys(self, folder_id: str) -> ExistingKeys:
        """What the folder holds that a restore made before (one listing); nothing for a folder made now."""
        if folder_id not in self._keys:
            made_now = any(fid == folder_id and fresh for fid, fresh in self._paths.values())
            self._keys[folder_id] = ExistingKeys() if made_now else restore_marker.existing_keys(
                self._graph, messages_url(self._target, folder_id), messages=True
            )  # fmt: skip
        return self._keys[folder_id]

    def resolve(self, path: str) -> Resolved:
        """The folder at `path` (below the folder everything goes under, if any), found or made."""
        return self._resolve(path)

    def _resolve(self, path: str) -> Resolved:
        if path in self._paths:
            return self._paths[path]
        segments = split_path(path)
        if not segments:
            raise ValueError("a message's folder path is empty")
        parent = self._resolve(join_path(segments[:-1])) if len(segments) > 1 else self._under
        if parent is None:  # a top folder of the mailbox
            resolved = self._well_known_folder(path) or self._child(None, False, segments[-1])
        else:
            resolved = self._child(parent[0], parent[1], segments[-1])
        self._paths[path] = resolved
        return resolved

    def _well_known_folder(self, path: str) -> Resolved | None:
        name = self._well_known.get(path, "")
        if not name:
            return None
        url = f"users/{quote(self._target, safe='')}/mailFolders/{name}"
        try:
            folder = self._graph.get_json(url, params={"$select": "id"})
        except GraphNotFound:
            return None  # the mailbox lacks it (an archive not enabled, say): made by name
        return (str(folder["id"]), False) if isinstance(folder.get("id"), str) else None

    def _child(self, parent_id: str | None, parent_made_now: bool, name: str) -> Resolved:
        if not parent_made_now:
            if parent_id not in self._children:
                self._children[parent_id] = mail_folders.child_ids(self._graph, self._target, parent_id)
            found = self._children[parent_id].get(name)
            if found is not None:
                return found, False
        made = mail_folders.create_folder(self._graph, self._target, name, parent_id)
        self._children.setdefault(parent_id, {})[name] = made[0]
        return made
