"""The seeded Teams state: `teams` teams (each a Microsoft 365 group provisioned as a team) with a standard
channel 'General' and a private channel 'Design', `channel_messages` root messages in General (half as many in
Design), replies, a reaction, a mention, an inline image (hosted content) and a reference attachment to a file in
the team's SharePoint site; and one Microsoft 365 group that is not a team (discovery must leave it alone).

The team's site: team t is connected to the drive store's seeded site t (modulo the sites seeded), and the file
its messages reference lives in that site's first document library under the channel's folder
('General/plan-<seed>.docx'), as a file shared in a channel does (link_team_files, run once both stores are
seeded). With no site seeded the reference keeps a link that names nothing."""

from __future__ import annotations

import base64
import datetime as dt
import struct
import zlib

from graphsim.drives.seed import BASE, seeded_content
from graphsim.drives.store import DriveStore, item_id
from graphsim.teams.store import Channel, Group, HostedContent, Message, TeamsStore, identity
from graphsim.tenant import Tenant, User

SHAREPOINT_HOST = "contoso.sharepoint.com"


def png_bytes(seed: int, size: int = 4) -> bytes:
    """A small, valid PNG (an inline image of a message)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((seed * 37 + x * 11 + y * 5) % 256 for x in range(size * 3)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def add_image(store: TeamsStore, message: Message, data: bytes, base_url: str, channel: Channel) -> None:
    """An inline image: a hosted content of the message, referenced from its body by its $value URL."""
    # hosted content ids are opaque and encode the message they belong to (chatMessageHostedContent resource)
    hosted_id = (
        base64.urlsafe_b64encode(f"id=x_0-wus-d{len(message.hosted) + 1}-{message.id}".encode()).decode().rstrip("=")
    )
    message.hosted[hosted_id] = HostedContent(hosted_id, "image/png", data)
    root = message.data.get("replyToId")
    path = f"/v1.0/teams/{channel.team_id}/channels/{channel.id}/messages/" + (
        f"{root}/replies/{message.id}" if root else message.id
    )
    src = f"{base_url}{path}/hostedContents/{hosted_id}/$value"
    message.data["body"]["content"] += f'<img src="{src}" alt="image" itemtype="http://schema.skype.com/AMSImage">'


def _users(tenant: Tenant) -> list[User]:
    users = sorted((u for u in tenant.users.values() if u.mail), key=lambda u: u.user_principal_name)
    return users or sorted(tenant.users.values(), key=lambda u: u.id)


def seed_teams(store: TeamsStore, tenant: Tenant, base_url: str, seed: int, teams: int, messages: int) -> None:
    users = _users(tenant)
    ids = [u.id for u in users]
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 60)
    store.add_group("Finance Group", False, start - dt.timedelta(days=60), ids)  # a plain group, not a team
    for t in range(teams):
        group = store.add_group(f"Team {t + 1} Launch", True, start - dt.timedelta(days=40), ids)
        general = store.add_channel(
            group, "General", "standard", start - dt.timedelta(days=40), description="The team's general channel"
        )
        design = store.add_channel(
            group, "Design", "private", start - dt.timedelta(days=30), description="Design reviews"
        )
        for channel in (general, design):
            channel.tabs.append(
                {
                    "id": f"tab-{channel.id[3:11]}",
                    "displayName": "Wiki",
                    "webUrl": None,
                    "configuration": {"entityId": None, "contentUrl": None, "websiteUrl": None, "removeUrl": None},
                    "teamsApp": {
                        "id": "com.microsoft.teamspace.tab.wiki",
                        "displayName": "Wiki",
                        "distributionMethod": "store",
                    },
                }
            )
        when = start + dt.timedelta(days=t)
        for channel, count in ((general, messages), (design, max(1, messages // 2))):
            when = _seed_channel(store, group, channel, users, base_url, seed, count, when)


def _seed_channel(
    store: TeamsStore,
    group: Group,
    channel: Channel,
    users: list[User],
    base_url: str,
    seed: int,
    count: int,
    when: dt.datetime,
) -> dt.datetime:
    for i in range(count):
        author = users[i % len(users)]
        when += dt.timedelta(minutes=7, milliseconds=123 * (i + 1))
        subject = f"Topic {i + 1} of {channel.display_name}" if i % 2 == 0 else None
        root = store.new_message(
            channel,
            author,
            when,
            f"<p>Update {i + 1} in {channel.display_name}: status seed {seed}.</p>",
            None,
            subject,
        )
        if i == 0:
            other = users[(i + 1) % len(users)]
            root.data["reactions"].append(
                {
                    "reactionType": "like",
                    "displayName": "Like",
                    "reactionContentUrl": None,
                    "createdDateTime": root.data["createdDateTime"],
                    "user": identity(other, store.tenant_id),
                }
            )
            add_image(store, root, png_bytes(seed + i), base_url, channel)
        if i == 1:
            mentioned = users[0]
            root.data["body"]["content"] += f'<p>Thanks <at id="0">{mentioned.display_name}</at></p>'
            root.data["mentions"].append(
                {
                    "id": 0,
                    "mentionText": mentioned.display_name,
                    "mentioned": {
                        "application": None,
                        "device": None,
                        "conversation": None,
                        "tag": None,
                        "user": identity(mentioned, store.tenant_id)["user"],
                    },
                }
            )
        if i == 2:
            url = f"https://{SHAREPOINT_HOST}/sites/{group.mail_nickname}/Shared%20Documents/General/plan-{seed}.docx"
            att_id = f"{seed:08x}-0000-4000-8000-{i:012x}"
            root.data["attachments"].append(
                {
                    "id": att_id,
                    "contentType": "reference",
                    "contentUrl": url,
                    "content": None,
                    "name": team_file_name(seed),
                    "thumbnailUrl": None,
                    "teamsAppId": None,
                }
            )
            root.data["body"]["content"] += f'<attachment id="{att_id}"></attachment>'
        for r in range(2 if i == 0 else (1 if i == 1 else 0)):
            when += dt.timedelta(minutes=2, milliseconds=7 * (r + 1))
            reply = store.new_message(
                channel, users[(i + r + 1) % len(users)], when, f"<p>Reply {r + 1} to update {i + 1}</p>", root
            )
            if i == 0 and r == 1:
                add_image(store, reply, png_bytes(seed + 100 + r), base_url, channel)
    return when


def team_file_name(seed: int) -> str:
    return f"plan-{seed}.docx"


def link_team_files(store: TeamsStore, drives: DriveStore, seed: int) -> None:
    """Put the file each team's messages reference in the team's site (see the module's docstring) and point the
    references at it: the link is the file's webUrl, as a reference attachment's contentUrl is."""
    sites = sorted(drives.sites.values(), key=lambda s: s.created)
    teams = [g for g in store.groups.values() if g.is_team]
    for t, group in enumerate(teams):
        site = sites[t % len(sites)] if sites else None
        if site is None or not site.drive_ids:
            continue
        drive = drives.drives[site.drive_ids[0]]
        folder = drive.child_named(drive.root, "General") or drive.add(
            drive.root, "General", True, when=BASE, iid=item_id(drive.id, "teamfolder", "General")
        )
        name = team_file_name(seed)
        if drive.child_named(folder, name) is None:
            content = seeded_content(f"teamfile:{seed}:{drive.id}", 12_000)
            drive.add(folder, name, False, content, when=BASE, iid=item_id(drive.id, "teamfile", name))
        placeholder = f"https://{SHAREPOINT_HOST}/sites/{group.mail_nickname}/"
        for channel in group.channels.values():
            for message in channel.all_messages():
                for attachment in message.data.get("attachments") or []:
                    if str(attachment.get("contentUrl") or "").startswith(placeholder):
                        attachment["contentUrl"] = f"{drive.web_url}/General/{name}"
