"""Conversation transcripts as of a run (Teams channel messages): one message as its JSON, and a channel (or all of
them) as a zip holding, per channel, `transcript.html` (readable and self-contained: threads in order with their
replies indented, authors, times, edits and deletions marked, reactions, links to shared files, inline images as
data: URIs) and `messages.json` (the stored messages, each root with its replies), then manifest.json.

Message bodies are Teams HTML: only a small set of formatting tags and safe attributes is kept (no script, style,
event handler or remote resource), so a transcript opened in a browser runs nothing and fetches nothing.

Items are messages whose version `extra` names `rootId` ('' for a root) and `hosted` (inline image id -> content
hash); catalog ids of replies sort after their root's, so a channel's messages arrive together. A shared file is
shown as its link and, when the backup resolved it to the SharePoint item at that link, where that item is held as
of the run ("held in <sharepoint resource> item <id>", or that the site was not backed up: found through
core/workloads/teams/file_refs.py), in the transcript and as `fileReferences` beside the message in messages.json."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, BinaryIO

from core import work_progress
from core.catalog_view import Scope, parse_time
from core.exports.files_export import directory, selected
from core.exports.zip_entries import MANIFEST, UniqueNames
from core.exports.zip_stream import ZipStreamWriter
from core.storage.catalog import ItemVersion
from core.workloads.base import Rendered
from core.workloads.teams.file_refs import holding

if TYPE_CHECKING:
    from core.bootstrap import Services

JSON = "application/json"
Images = dict[str, dict[str, str]]  # message id -> hosted content id -> data: URI
REFS = "fileReferences"  # beside a message in the export: its files as backed up, each with `heldIn`
_ALLOWED = {
    "p",
    "br",
    "b",
    "i",
    "u",
    "s",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "span",
    "div",
    "code",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
    "a",
    "img",
    "at",
}
_DROP_WITH_TEXT = {"script", "style", "iframe", "object", "embed", "template"}
_STYLE = (
    "body{font-family:Segoe UI,Arial,sans-serif;max-width:60em;margin:2em auto;color:#222}"
    ".thread{border-top:1px solid #ccc;padding:.6em 0}.message{margin:.3em 0}"
    ".replies{margin-left:2.5em;border-left:3px solid #e0e0e0;padding-left:1em}"
    ".meta{color:#555;font-size:.9em}.author{font-weight:bold;color:#222}.deleted{color:#999;font-style:italic}"
    ".reactions{font-size:.85em;color:#555}img{max-width:100%}"
)


def message_file(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    """One message: its stored JSON (content-addressed: streamed and verified as it is)."""
    return Rendered(services.content.iter_chunks(version.content_hash), version.size or None, version.content_hash)


class _Sanitizer(HTMLParser):
    """Teams HTML reduced to formatting: allowed tags, href (http, https, mailto) and img src (the data: URIs this
    export puts there) only."""

    def __init__(self, images: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.images = images
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_TEXT:
            self._skip += 1
            return
        if self._skip or tag not in _ALLOWED:
            return
        kept = ""
        values = dict(attrs)
        if tag == "a" and re.match(r"(?i)^(https?:|mailto:)", values.get("href") or ""):
            kept = f' href="{html.escape(values["href"] or "")}" rel="noreferrer"'
        if tag == "img":
            found = re.search(r"/hostedContents/([^/\"'?]+)/\$value", values.get("src") or "")
            uri = self.images.get(found.group(1)) if found else None
            if uri is None:
                self.out.append("[image]")
                return
            kept = f' src="{uri}" alt="{html.escape(values.get("alt") or "image")}"'
        self.out.append('<span class="mention">' if tag == "at" else f"<{tag}{kept}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_TEXT:
            self._skip = max(0, self._skip - 1)
        elif not self._skip and tag in _ALLOWED and tag not in ("br", "img"):
            self.out.append("</span>" if tag == "at" else f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(html.escape(data))


def safe_body(message: dict[str, Any], images: dict[str, str]) -> str:
    body = message.get("body") or {}
    content = str(body.get("content") or "")
    if body.get("contentType") != "html":
        return html.escape(content).replace("\n", "<br>")
    sanitizer = _Sanitizer(images)
    sanitizer.feed(content)
    sanitizer.close()
    return "".join(sanitizer.out)


def sniff(data: bytes) -> str:
    """The image type of inline image bytes (hosted contents are read without their type)."""
    for magic, kind in ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return kind
    return "image/webp" if data[8:12] == b"WEBP" else "application/octet-stream"


def data_uri(data: bytes) -> str:
    return f"data:{sniff(data)};base64,{base64.b64encode(data).decode('ascii')}"


def _who(message: dict[str, Any]) -> str:
    sender = message.get("from") or {}
    for kind in ("user", "application", "device"):
        if isinstance(sender.get(kind), dict):
            return str(sender[kind].get("displayName") or sender[kind].get("id") or "")
    return "(unknown)"


def _message_html(message: dict[str, Any], images: dict[str, str]) -> str:
    stamp = html.escape(str(message.get("createdDateTime") or ""))
    marks = ""
    if message.get("lastEditedDateTime"):
        marks += f' <span class="edited">(edited {html.escape(str(message["lastEditedDateTime"]))})</span>'
    parts = [
        f'<div class="message" id="m{html.escape(str(message.get("id")))}"><div class="meta">'
        f'<span class="author">{html.escape(_who(message))}</span> <time datetime="{stamp}">{stamp}</time>'
        f"{marks}</div>"
    ]
    if message.get("deletedDateTime"):
        parts.append(
            f'<div class="deleted">This message was deleted ({html.escape(str(message["deletedDateTime"]))}).</div>'
        )
    else:
        if message.get("subject"):
            parts.append(f'<div class="subject"><b>{html.escape(str(message["subject"]))}</b></div>')
        parts.append(f'<div class="body">{safe_body(message, images)}</div>')
    files = [a for a in message.get("attachments") or [] if a.get("contentType") == "reference" and a.get("contentUrl")]
    if files:
        held = {str(r.get("url")): str(r["heldIn"]) for r in message.get(REFS) or [] if r.get("heldIn")}
        links = "".join(
            f'<li><a href="{html.escape(str(a["contentUrl"]))}" rel="noreferrer">'
            f"{html.escape(str(a.get('name') or a['contentUrl']))}</a>"
            + (f' <span class="held">({html.escape(held[a["contentUrl"]])})</span>' if a["contentUrl"] in held else "")
            + "</li>"
            for a in files
        )
        parts.append(f'<ul class="files">{links}</ul>')
    reactions: dict[str, int] = {}
    for reaction in message.get("reactions") or []:
        reactions[str(reaction.get("reactionType"))] = reactions.get(str(reaction.get("reactionType")), 0) + 1
    if reactions:
        shown = ", ".join(f"{html.escape(k)} × {n}" for k, n in sorted(reactions.items()))
        parts.append(f'<div class="reactions">{shown}</div>')
    return "".join(parts) + "</div>"


def transcript_html(title: str, threads: list[tuple[dict, list[dict]]], images: Images) -> bytes:
    """The channel's threads (root, replies) as one self-contained HTML page; `images`: message id -> its inline
    images (hosted content id -> data: URI)."""
    body = []
    for root, replies in threads:
        inner = "".join(_message_html(r, images.get(str(r.get("id")), {})) for r in replies)
        body.append(
            f'<div class="thread">{_message_html(root, images.get(str(root.get("id")), {}))}'
            + (f'<div class="replies">{inner}</div>' if inner else "")
            + "</div>"
        )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        f"style-src 'unsafe-inline'\"><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"{''.join(body)}</body></html>"
    )
    return page.encode("utf-8")


def _file_references(services: Services, files: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """A message's files as backed up, each with where its item is held as of the run (when it was resolved)."""
    return [{**f, "heldIn": holding(services, f, run_id).text} if "resolved" in f else dict(f) for f in files]


def _threads(
    services: Services, versions: list[ItemVersion], run_id: str | None = None
) -> tuple[list[tuple[dict, list[dict]]], Images]:
    roots: dict[str, tuple[dict, list[dict]]] = {}
    orphans: list[tuple[str, dict]] = []
    images: Images = {}
    for version in versions:
        message = json.loads(services.content.read(version.content_hash))
        extra = json.loads(version.extra) if version.extra else {}
        for hosted in extra.get("hosted") or []:
            images.setdefault(str(message.get("id")), {})[hosted["id"]] = data_uri(
                services.content.read(hosted["sha256"])
            )
        if run_id is not None and extra.get("files"):
            message[REFS] = _file_references(services, extra["files"], run_id)
        root_id = str(extra.get("rootId") or "")
        if root_id:
            orphans.append((root_id, message))
        else:
            roots[str(message.get("id"))] = (message, [])
    for root_id, message in orphans:
        if root_id in roots:
            roots[root_id][1].append(message)
        else:  # its root is not in the point (never captured): shown as its own thread
            roots[f"{root_id}:{message.get('id')}"] = (message, [])
    threads = sorted(roots.values(), key=lambda t: str(t[0].get("createdDateTime")))
    for _root, replies in threads:
        replies.sort(key=lambda m: str(m.get("createdDateTime")))
    return threads, images


def transcript_files(
    services: Services, title: str, versions: list[ItemVersion], run_id: str | None = None
) -> tuple[bytes, bytes]:
    """One conversation's messages (`versions`) as (transcript.html, messages.json): what the zip export holds per
    channel or chat, the same bytes for the same versions (and run: `run_id` names where shared files are held)."""
    threads, images = _threads(services, versions, run_id)
    document = [{**root, "replies": replies} for root, replies in threads]
    return transcript_html(title, threads, images), json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def write_transcripts_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """Per channel (of `folder` and below, or all): transcript.html and messages.json, then manifest.json."""
    by_path: dict[str, list[ItemVersion]] = {}
    for version, path in selected(services, scope, folder):
        by_path.setdefault(path, []).append(version)
    names = UniqueNames()
    entries: list[dict[str, Any]] = []
    total = messages = 0
    work_progress.plan(sum(len(versions) for versions in by_path.values()))  # to whoever watches: the CLI
    with ZipStreamWriter(out) as zw:
        for path in sorted(by_path):
            versions = by_path[path]
            times = [t for t in (parse_time(v.modified) for v in versions) if t is not None]
            when = max(times) if times else None
            page, document = transcript_files(services, path, versions, scope.run_id)
            files = (("transcript", ".html", page), ("messages", ".json", document))
            for stem, suffix, data in files:
                name = names.claim(directory(path, "(channel)"), stem, suffix)
                total += zw.write_bytes(name, data, when=when)
                entries.append(
                    {
                        "path": name,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "folder": path,
                        "messages": len(versions),
                    }
                )
            messages += len(versions)
            for version in versions:
                work_progress.finished(version.item_id)
        head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
        manifest = {**head, "entries": entries, "failures": []}
        zw.write_bytes(MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
    return {
        "run_id": scope.run_id,
        "items": len(entries),
        "messages": messages,
        "channels": len(by_path),
        "bytes": total,
        "zip_bytes": zw.bytes_written,
        "failed": 0,
    }
