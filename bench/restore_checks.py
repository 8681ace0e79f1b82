"""Checks of a bench restore: the messages restored are the originals (folder below the new one, internetMessageId,
subject), none is a draft, the job counted them all, and a sample of them, as Graph reports them, equals the
originals (devenv.message_fidelity: properties, attachments, headers; not bytes, since the restore creates messages
from JSON)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from devenv.message_fidelity import differences, snapshot


def _identity(message: dict[str, Any], prefix: str = "") -> tuple[str, str, str]:
    return message["folder_path"].removeprefix(prefix), message["internetMessageId"], message["subject"]


def verify_restore(ctx: dict[str, Any], name: str, job: dict[str, Any]) -> int:
    """Messages restored into the folder `name` of the target; RuntimeError unless they are the originals (folder
    below `name`, internetMessageId, subject), none a draft, the job counted them all, and a sample of ctx["verify"]
    of them (evenly spread, so some with attachments) equals its original as Graph reports it (message_fidelity):
    a draft comes back a draft, every other message not."""
    sim, prefix = ctx["sim"], f"/{name}"
    user = next(u for u in sim.control.state()["users"] if u["id"] == ctx["target"])
    landed = [m for m in user["messages"] if m["folder_path"].startswith(f"{prefix}/")]
    got, want = Counter(_identity(m, prefix) for m in landed), Counter(_identity(m) for m in ctx["originals"])
    if got != want:
        raise RuntimeError(f"restore '{name}': restored messages are not the originals: "
                           f"{(want - got).total()} missing, {(got - want).total()} unexpected, e.g. "
                           f"{sorted(want - got)[:3]} vs {sorted(got - want)[:3]}")  # fmt: skip
    drafts = Counter(_identity(m, prefix) for m in landed if m["isDraft"])
    if drafts != Counter(_identity(m) for m in ctx["originals"] if m["isDraft"]):
        raise RuntimeError(f"restore '{name}': {drafts.total()} restored messages are drafts, not the originals' ones")
    if int(job["progress"]["restored"]) != len(landed):
        raise RuntimeError(f"restore '{name}' reports {job['progress']['restored']} restored, {len(landed)} landed")
    by_identity = {_identity(m, prefix): m for m in landed}
    originals = sorted(ctx["originals"], key=_identity)
    step = max(1, len(originals) // max(ctx["verify"], 1))
    for original in originals[::step][: ctx["verify"]]:
        copy = by_identity[_identity(original)]
        before = snapshot(ctx["graph"], sim.control, ctx["source"], original["id"])
        diff = differences(before, snapshot(ctx["graph"], sim.control, ctx["target"], copy["id"]))
        if diff:
            raise RuntimeError(f"restore '{name}': {original['internetMessageId']} differs: {'; '.join(diff)}")
    return len(landed)
