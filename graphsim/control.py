"""SimControl: a small typed httpx client for the simulator's /_sim control API."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class SimControl(ControlHttp):
    # --- reading ---
    def state(self) -> dict[str, Any]:
        """Users, their folders (with path) and messages (id, folder_id, sha256, size, subject, internetMessageId)."""
        return self._call("GET", "/_sim/state")

    def list_messages(self, user: str, folder: str | None = None) -> list[dict[str, Any]]:
        params = {"folder": folder} if folder else None
        return self._call("GET", f"/_sim/users/{user}/messages", params=params)["value"]

    def message_mime(self, user: str, message_id: str) -> bytes:
        response = self._http.get(f"/_sim/users/{user}/messages/{message_id}/mime")
        response.raise_for_status()
        return response.content

    def mailbox_users(self) -> list[dict[str, Any]]:
        return [u for u in self.state()["users"] if u["has_mailbox"]]

    # --- changing the tenant ---
    def add_message(
        self,
        user: str,
        folder: str = "inbox",
        subject: str | None = None,
        body: str | None = None,
        sender: tuple[str, str] | None = None,
        to: list[tuple[str, str]] | None = None,
        attachments: int = 0,
        attachment_size: int = 4096,
        mime: bytes | None = None,
        is_read: bool = False,
    ) -> dict[str, Any]:
        """Deliver a message (or the given raw MIME) into a folder; returns its summary (id, sha256, ...)."""
        payload: dict[str, Any] = {"folder": folder, "attachments": attachments, "attachment_size": attachment_size,
                                   "isRead": is_read}  # fmt: skip
        if subject is not None:
            payload["subject"] = subject
        if body is not None:
            payload["body"] = body
        if sender is not None:
            payload["from"] = list(sender)
        if to is not None:
            payload["to"] = [list(t) for t in to]
        if mime is not None:
            payload["mime_base64"] = base64.b64encode(mime).decode("ascii")
        return self._call("POST", f"/_sim/users/{user}/messages", payload)

    def update_message(self, user: str, message_id: str, **changes: Any) -> dict[str, Any]:
        """subject / body (new MIME and changeKey), isRead, categories, flag ("flagged" or a flag dict), importance."""
        return self._call("PATCH", f"/_sim/users/{user}/messages/{message_id}", changes)

    def move_message(self, user: str, message_id: str, destination: str) -> dict[str, Any]:
        """Move to a folder id or well-known name; the message id does not change. A soft delete is a move to
        'deleteditems'."""
        return self._call("POST", f"/_sim/users/{user}/messages/{message_id}/move", {"destination": destination})

    def delete_message(self, user: str, message_id: str) -> None:
        """Hard delete."""
        self._call("DELETE", f"/_sim/users/{user}/messages/{message_id}")

    def create_folder(
        self, user: str, display_name: str, parent: str = "msgfolderroot", hidden: bool = False
    ) -> dict[str, Any]:
        body = {"displayName": display_name, "parent": parent, "isHidden": hidden}
        return self._call("POST", f"/_sim/users/{user}/folders", body)

    def change_folder(self, user: str, folder: str, display_name: str = "", parent: str = "") -> dict[str, Any]:
        """A mail folder renamed and/or moved below `parent` (an id or well-known name)."""
        body = {"displayName": display_name, "parent": parent}
        return self._call("PATCH", f"/_sim/users/{user}/folders/{folder}", body)

    def delete_folder(self, user: str, folder: str) -> None:  # hard, with its child folders and their messages
        self._call("DELETE", f"/_sim/users/{user}/folders/{folder}")

    def localize_mailbox(self, user: str, names: dict[str, str] | None = None) -> dict[str, Any]:
        """Well-known folders renamed as in a mailbox of another language (default German: Posteingang, ...)."""
        return self._call("POST", f"/_sim/users/{user}/localize", {"names": names} if names else {})

    # --- tokens, faults, knobs ---
    def expire_delta_tokens(self, user: str | None = None) -> None:
        """Every outstanding delta and skip token of one mailbox (or all) answers 410 SyncStateNotFound from now on."""
        self._call("POST", "/_sim/expire-delta-tokens", {"user": user} if user else {})

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is refused (401 InvalidAuthenticationToken)."""
        self._call("POST", "/_sim/expire-access-tokens")

    def api_token(
        self,
        oid: str,
        audience: str,
        name: str = "",
        roles: list[str] | tuple[str, ...] = (),
        lifetime: int = 3600,
        app_only: bool = False,
        wrong_key: bool = False,
        issuer: str | None = None,
        tenant: str | None = None,
    ) -> str:
        """An Entra ID v2.0 access token for the restore API (audience = its client id or api:// URI), signed with
        the key the tenant's JWKS publishes: delegated (scp access_as_user, name / preferred_username = `name`) or
        `app_only` (idtyp app, no scp). Negative `lifetime`: already expired. `wrong_key`: forged signature, real kid.
        `issuer` / `tenant`: override iss / tid."""
        body: dict[str, Any] = {"oid": oid, "audience": audience, "name": name, "roles": list(roles),
                                "lifetime": lifetime, "app_only": app_only, "wrong_key": wrong_key}  # fmt: skip
        if issuer is not None:
            body["issuer"] = issuer
        if tenant is not None:
            body["tenant"] = tenant
        return str(self._call("POST", "/_sim/api-tokens", body)["access_token"])

    def register_spa(self, client_id: str, redirect_uris: list[str], api_audience: str) -> dict[str, Any]:
        """An app registration with the single-page application platform (browser sign-in: code flow + PKCE)."""
        body = {"client_id": client_id, "redirect_uris": redirect_uris, "api_audience": api_audience}
        return self._call("POST", "/_sim/spa-apps", body)

    def assign_app_roles(self, user: str, roles: list[str]) -> None:
        """The API's app roles (e.g. Restore.Operator) a user's signed-in tokens carry from now on."""
        self._call("POST", "/_sim/app-roles", {"user": user, "roles": roles})

    def set_faults(self, *faults: dict[str, Any]) -> list[dict[str, Any]]:
        """Add faults, e.g. {"kind": "throttle", "count": 3, "status": 429, "retry_after": "0.5"}; see Fault."""
        return self._call("POST", "/_sim/faults", {"faults": list(faults)})["added"]

    def throttle_storm(self, count: int, status: int = 429, retry_after: str | float | None = "1",
                       user: str | None = None, endpoint: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
        spec: dict[str, Any] = {
            "kind": "throttle",
            "count": count,
            "status": status,
            "user": user,
            "endpoint": endpoint,
        }
        spec["retry_after"] = None if retry_after is None else str(retry_after)
        return self.set_faults(spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/faults")["active"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """latency_ms, mailbox_concurrency, rate_limit ("N/SECONDS" or None), token_lifetime (seconds), link_style
        ("query" | "function": mail, contact and calendarView delta links as .../delta(token='...'), no query
        string; see graphsim/delta_links.py)."""
        return self._call("POST", "/_sim/config", settings)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/config")

    def stats(self) -> dict[str, Any]:
        """total, by_kind{token,users,folders,delta,value,message_get,messages,create,other}, by_status,
        answered_429, answered_503, answered_5xx, max_in_flight{user id: n}, in_flight."""
        return self._call("GET", "/_sim/stats")

    def reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/_sim/stats/reset")

    # --- contacts and calendars ---
    def pim(self, user: str) -> dict[str, Any]:
        """{contact_folders, contacts, calendars, events} of one mailbox user (also in state() per user).
        contacts: [{id, folder_id, displayName, sha256 (canonical JSON of every contact property), properties,
        photo_sha256, changeKey}]; events: [{id, calendar_id, type, seriesMasterId, subject, sha256 (canonical JSON
        of the event's properties, ids left out), properties, attachments: [{id, name, contentType, size, isInline,
        sha256}], changeKey, + cancelled_occurrences and exception_ids on masters, originalStart on exceptions}]."""
        return self._call("GET", f"/_sim/users/{user}/pim")

    def add_contact(self, user: str, folder: str = "contacts", properties: dict[str, Any] | None = None,
                    photo: bool | bytes = False) -> dict[str, Any]:  # fmt: skip
        """A contact in a folder (id or 'contacts'); properties as Graph contact JSON; photo True = a generated one."""
        body: dict[str, Any] = {"folder": folder, "properties": properties}
        if photo:
            body["photo"] = base64.b64encode(photo).decode("ascii") if isinstance(photo, bytes) else True
        return self._call("POST", f"/_sim/users/{user}/contacts", body)

    def update_contact(self, user: str, contact_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", f"/_sim/users/{user}/contacts/{contact_id}", {"properties": properties})

    def delete_contact(self, user: str, contact_id: str) -> None:
        self._call("DELETE", f"/_sim/users/{user}/contacts/{contact_id}")

    def set_contact_photo(self, user: str, contact_id: str, photo: bytes | None = None,
                          remove: bool = False) -> dict[str, Any]:  # fmt: skip
        """Set (given bytes, or a generated JPEG) or remove a contact's photo."""
        body: dict[str, Any] = {"remove": remove}
        if photo is not None:
            body["photo_base64"] = base64.b64encode(photo).decode("ascii")
        return self._call("PUT", f"/_sim/users/{user}/contacts/{contact_id}/photo", body)

    def create_contact_folder(self, user: str, display_name: str, parent: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/_sim/users/{user}/contact-folders", {"displayName": display_name,
                                                                           "parent": parent})  # fmt: skip

    def rename_contact_folder(self, user: str, folder: str, display_name: str) -> dict[str, Any]:
        return self._call("PATCH", f"/_sim/users/{user}/contact-folders/{folder}", {"displayName": display_name})

    def delete_contact_folder(self, user: str, folder: str) -> None:  # with its child folders and contacts
        self._call("DELETE", f"/_sim/users/{user}/contact-folders/{folder}")

    def add_event(self, user: str, calendar: str | None = None, **fields: Any) -> dict[str, Any]:
        """An event: start / end as ISO strings (UTC unless an offset is given), anything else as Graph event JSON
        (subject, body, recurrence, attendees, ...). Returns the event summary. Nothing is sent to the attendees
        (seeding); the same event POSTed through Graph sends them invitations (see outbox())."""
        return self._call("POST", f"/_sim/users/{user}/events", {"calendar": calendar, **fields})

    def update_event(self, user: str, event_id: str, **fields: Any) -> dict[str, Any]:
        """Update an event (an occurrence id makes it an exception)."""
        return self._call("PATCH", f"/_sim/users/{user}/events/{event_id}", fields)

    def delete_event(self, user: str, event_id: str) -> None:
        """Delete an event or a whole series; an occurrence / exception id cancels that occurrence."""
        self._call("DELETE", f"/_sim/users/{user}/events/{event_id}")

    def edit_occurrence(self, user: str, master_id: str, index: int | None = None, original_start: str | None = None,
                        shift_minutes: int = 0, **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Turn an occurrence (0-based pattern index, or its original start) into an exception: new subject etc.,
        start and end moved by shift_minutes. Returns the exception's summary."""
        body = {"index": index, "original_start": original_start, "shift_minutes": shift_minutes, **fields}
        return self._call("POST", f"/_sim/users/{user}/events/{master_id}/occurrences/edit",
                          {k: v for k, v in body.items() if v is not None})  # fmt: skip

    def cancel_occurrence(self, user: str, master_id: str, index: int | None = None,
                          original_start: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Cancel one occurrence; returns {id (the occurrence id), originalStart, master}."""
        body = {"index": index, "original_start": original_start}
        return self._call("POST", f"/_sim/users/{user}/events/{master_id}/occurrences/cancel",
                          {k: v for k, v in body.items() if v is not None})  # fmt: skip

    def add_event_attachment(self, user: str, event_id: str, size: int = 4096, name: str | None = None,
                             content: bytes | None = None,
                             content_type: str | None = None) -> dict[str, Any]:  # fmt: skip
        """A file attachment of `size` generated bytes (or the given bytes); returns {id, name, size, sha256, ...}."""
        body: dict[str, Any] = {"size": size, "name": name, "content_type": content_type}
        if content is not None:
            body["content_base64"] = base64.b64encode(content).decode("ascii")
        return self._call("POST", f"/_sim/users/{user}/events/{event_id}/attachments", body)

    def outbox(self, organizer: str | None = None) -> list[dict[str, Any]]:
        """The meeting mail Graph requests made Exchange send (requests, updates, cancellations), one entry per
        recipient, inside the tenant or not: {kind: request|update|cancel, organizer, to, subject, event_id, iCalUId,
        occurrence (original start or None), time, delivered_to (user id, when a tenant mailbox got it), message_id}.
        `organizer`: one organizer's (user id or address). Seeding through this control API sends nothing."""
        return self._call("GET", "/_sim/outbox", params={"organizer": organizer} if organizer else None)["value"]

    def clear_outbox(self) -> None:
        self._call("DELETE", "/_sim/outbox")

    def expire_pim_delta_tokens(self, user: str | None = None) -> None:
        """Contact and calendarView delta tokens share the mailbox's token generation: this is
        expire_delta_tokens (mail tokens of that mailbox expire too, as an Outlook cache eviction would)."""
        self.expire_delta_tokens(user)

    # --- drives (OneDrive and SharePoint document libraries) ---
    def drives_state(self) -> dict[str, Any]:
        """{"drives": [{id, name, driveType, webUrl, owner_kind ("user"|"site"), owner_id, root_id, items: [{id,
        name, path, parent_id, folder, size, sha256, quickXorHash, eTag, version, content_version}]}],
        "sites": [...]}"""
        return self._call("GET", "/_sim/drives")

    def drive(self, ref: str) -> dict[str, Any]:
        """One drive by id, or a user's OneDrive by user id / UPN."""
        drives = self.drives_state()["drives"]
        found = next((d for d in drives if d["id"] == ref or (d["owner_kind"] == "user" and d["owner_id"] == ref)),
                     None)  # fmt: skip
        if found is None:
            user = next((u for u in self.state()["users"] if ref.lower() in (u["id"], u["userPrincipalName"])), None)
            found = next((d for d in drives if user and d["owner_id"] == user["id"]), None)
        if found is None:
            raise RuntimeError(f"graphsim: no drive {ref!r}")
        return found

    @staticmethod
    def _item_path(drive: str, item: str) -> str:
        return f"/_sim/drives/{quote(drive, safe='')}/items/{quote(item, safe='/')}"

    def add_drive_item(self, drive: str, name: str, parent: str = "/", folder: bool = False, size: int | None = None,
                       content: bytes | None = None) -> dict[str, Any]:  # fmt: skip
        """Add a file (generated content of `size` bytes, or the given bytes) or a folder; parent by id or path."""
        body: dict[str, Any] = {"name": name, "parent": parent, "folder": folder}
        if size is not None:
            body["size"] = size
        if content is not None:
            body["content_base64"] = base64.b64encode(content).decode("ascii")
        return self._call("POST", f"/_sim/drives/{quote(drive, safe='')}/items", body)

    def bulk_add_drive_items(self, drive: str, folders: int = 0, empty_files: int = 0, files: int = 0,
                             parent: str = "/", file_size: int = 2048, fanout: int = 8) -> dict[str, Any]:  # fmt: skip
        """Add a big tree server-side in one request: `folders` folders nested `fanout` wide below `parent` (by id or
        path), then `empty_files` zero-byte files and `files` generated files of `file_size` bytes spread over them.
        Returns {added, folders, empty_files, files, top: [{id, path}] (the folders directly in `parent`)}."""
        body = {"parent": parent, "folders": folders, "empty_files": empty_files, "files": files,
                "file_size": file_size, "fanout": fanout}  # fmt: skip
        return self._call("POST", f"/_sim/drives/{quote(drive, safe='')}/bulk-items", body)

    def create_drive_folder(self, drive: str, name: str, parent: str = "/") -> dict[str, Any]:
        return self.add_drive_item(drive, name, parent, folder=True)

    def add_big_file(self, drive: str, name: str, size: int, parent: str = "/") -> dict[str, Any]:
        """A generated file of any size (e.g. 1 GiB), never held in memory; its hashes are computed once, streamed."""
        return self.add_drive_item(drive, name, parent, size=size)

    def modify_drive_item(self, drive: str, item: str, size: int | None = None,
                          content: bytes | None = None) -> dict[str, Any]:  # fmt: skip
        """A new content version (new cTag/eTag, same id)."""
        body: dict[str, Any] = {}
        if size is not None:
            body["size"] = size
        if content is not None:
            body["content_base64"] = base64.b64encode(content).decode("ascii")
        return self._call("POST", self._item_path(drive, item) + "/content", body)

    def encrypt_drive(self, drive: str, percent: float = 50, extension: str = ".locky", seed: str = "encrypt",
                      count: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Ransomware on a drive: `percent` of its files (or `count`) get random bytes and `extension`, one change
        each; returns [{id, was, name}]."""
        body: dict[str, Any] = {"percent": percent, "extension": extension, "seed": seed}
        if count is not None:
            body["count"] = count
        return self._call("POST", f"/_sim/drives/{quote(drive, safe='')}/encrypt", body)["encrypted"]

    def rename_drive_item(self, drive: str, item: str, name: str) -> dict[str, Any]:
        return self._call("PATCH", self._item_path(drive, item), {"name": name})

    def move_drive_item(self, drive: str, item: str, parent: str, name: str | None = None) -> dict[str, Any]:
        return self._call("PATCH", self._item_path(drive, item), {"parent": parent, "name": name})

    def delete_drive_item(self, drive: str, item: str) -> list[str]:
        """Delete an item (a folder with everything below it); returns the deleted ids."""
        return self._call("DELETE", self._item_path(drive, item))["deleted"]

    def drive_item_content(self, drive: str, item: str) -> bytes:
        response = self._http.get(self._item_path(drive, item) + "/content")
        response.raise_for_status()
        return response.content

    def expire_drive_delta_tokens(self, drive: str | None = None,
                                  code: str = "resyncChangesApplyDifferences") -> None:  # fmt: skip
        """Every outstanding drive delta token (of one drive or all) answers 410 Gone with `code` and a Location."""
        self._call("POST", "/_sim/drives-expire-delta-tokens", {"drive": drive, "code": code})

    def drop_download(self, after_bytes: int, item: str | None = None, count: int = 1) -> list[dict[str, Any]]:
        """The next `count` downloads (of one item id, or any) drop the connection after `after_bytes` body bytes."""
        return self.set_faults({"kind": "drop_download", "after_bytes": after_bytes, "item": item, "count": count})

    def fail_upload_fragment(self, item: str | None = None, count: int = 1, status: int = 500) -> list[dict[str, Any]]:
        """The next `count` upload-session fragments (of a file name / target item id, or any) fail with `status`."""
        return self.set_faults({"kind": "fail_upload_fragment", "item": item, "count": count, "status": status})

    def content_404(self, item: str | None = None, count: int | None = 1) -> list[dict[str, Any]]:
        """The next `count` (None: every) /content requests of a drive item (or any) answer 404 although the item
        exists: the not_found fault aimed at downloads."""
        return self.set_faults({"kind": "not_found", "item": item, "endpoint": "download_redirect", "count": count})

    def remove_drive(self, drive: str) -> None:
        """Delete a document library (or a OneDrive): gone from its site's drive list, /drives/{id} answers 404."""
        self._call("DELETE", f"/_sim/drives/{quote(drive, safe='')}")

    def set_drive_item_permissions(self, drive: str, item: str, grants: int = 0,
                                   permissions: list[dict[str, Any]] | None = None,
                                   clear: bool = False) -> dict[str, Any]:  # fmt: skip
        """A sharing change: the item's own permissions replaced by `permissions` (default: kept) plus `grants`
        generated user grants, or cleared. Listed by the next delta round; eTag and cTag unchanged."""
        body: dict[str, Any] = {"grants": grants, "clear": clear}
        if permissions is not None:
            body["permissions"] = permissions
        return self._call("POST", self._item_path(drive, item) + "/permissions", body)

    def set_drive_item_listing(self, drive: str, item: str, size_delta: int = 0,
                               wrong_hash: bool = False) -> dict[str, Any]:  # fmt: skip
        """The item's listing (JSON, delta) disagrees with its content from now on: size off by `size_delta`
        bytes, and/or a quickXorHash that is not the content's. (0, False) puts it right."""
        body = {"size_delta": size_delta, "wrong_hash": wrong_hash}
        return self._call("POST", self._item_path(drive, item) + "/listing", body)

    def configure_drives(self, **settings: Any) -> dict[str, Any]:
        """download_url_lifetime, upload_session_lifetime (seconds), ru_budget (RU per window, None = off),
        ru_window (seconds, default 60), strict_fragments (bool), delta_order ("tree" | "newest_first" |
        "shuffle"), all_sites_status (getAllSites refused with this status; None: answered), unindexed_sites
        (site ids that /sites?search= does not return)."""
        return self._call("POST", "/_sim/drives-config", settings)

    def drive_stats(self) -> dict[str, Any]:
        """download_requests, download_with_authorization, download_bytes, download_expired, download_dropped,
        upload_fragments, upload_with_authorization, upload_fragment_failed, ru_used, ru_throttled,
        delta_links_edited (drive delta requests whose link is not exactly one the simulator handed out)."""
        return self._call("GET", "/_sim/drives-stats")
