"""How a local orchestration ended (devenv/durable_local.py's `run_orchestration`): status, output, and the
counts tests and benchmarks read (episodes, activities, history events and bytes, replay CPU time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LocalResult:
    """How an orchestration ended; the counts include every sub-orchestration (and every retried attempt)."""

    instance_id: str
    runtime_status: str  # "Completed" or "Failed"
    output: Any  # the orchestrator's return value (None when it failed)
    custom_status: Any
    error: str | None = None  # the orchestrator's exception when Failed
    episodes: int = 0  # replays of any orchestrator
    activities: int = 0  # activity attempts executed
    sub_orchestrations: int = 0
    max_history: int = 0  # the longest final history of any one orchestration
    history: list[dict] = field(default_factory=list, repr=False)  # this orchestration's final history
    history_bytes: int = 0  # this orchestration's final history as JSON (what the host stores and sends)
    max_history_bytes: int = 0  # the largest final history of any one orchestration, in bytes
    # CPU time spent replaying (context JSON made, orchestrator run), summed over every orchestration: the replaying
    # thread's own CPU time, so orchestrations replayed at the same time in other threads do not inflate it
    replay_seconds: float = 0.0
    own_replay_seconds: float = 0.0  # ... of this orchestration alone

    def absorb(self, child: LocalResult) -> None:
        self.episodes += child.episodes
        self.activities += child.activities
        self.sub_orchestrations += child.sub_orchestrations + 1
        self.max_history = max(self.max_history, child.max_history)
        self.max_history_bytes = max(self.max_history_bytes, child.max_history_bytes)
        self.replay_seconds += child.replay_seconds
