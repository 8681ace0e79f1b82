"""Is a restore point suspicious? A resource's run is judged against the resource's own rolling baseline, so a busy
resource (a team that edits half its files every day) is not flagged for being busy, and a quiet one is flagged
when a third of its files change at once.

The signals of a run (core/signals/run_signals.py) as shares:

    changed, renamed, deleted   files of each kind / the resource's live files before the run
    encrypted                   new contents that look encrypted / new contents the content rules judge

Each share has a limit: max(its floor, baseline median + max(SPREAD_FACTOR x the baseline's spread, floor / 2)),
the spread being the median absolute deviation (x 1.4826, a standard deviation's equivalent). The baseline is the
share's values at the resource's last RANSOMWARE_BASELINE_POINTS usable, unflagged points (kept in one row per
resource, core/storage/signal_baselines.py: one read per run, no scan of history). A share is judged once its
baseline has MIN_BASELINE values (the change shares 3, so the first full backups only teach; the encrypted share 1,
the first backup's own contents), and only when RANSOMWARE_MIN_FILES files or more are involved. A point is
suspicious when any share is over its limit, or when RANSOMWARE_EXTENSION_FILES or more files were created or
renamed with a known ransomware extension (whatever the baseline). A flagged point does not enter the baseline: an
attack must not teach it that attacks are normal. A retried activity (the same run backed up again, which then
sees no change) keeps the flag the first attempt recorded."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.storage.runs import USABLE

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.config import Settings
    from core.signals.run_signals import RunSignals

log = logging.getLogger(__name__)

SHARES = ("changed", "renamed", "deleted", "encrypted")
MIN_BASELINE = {"changed": 3, "renamed": 3, "deleted": 3, "encrypted": 1}
SPREAD_FACTOR = 3.0
_MAD_SCALE = 1.4826
SUSPICIOUS_MESSAGE = "suspicious restore point"  # the log record's message (alerts match it)


@dataclass(frozen=True)
class Thresholds:
    change_share: float = 0.30  # RANSOMWARE_CHANGE_PERCENT / 100
    encrypted_share: float = 0.30  # RANSOMWARE_ENCRYPTED_PERCENT / 100
    min_files: int = 10  # RANSOMWARE_MIN_FILES
    extension_files: int = 3  # RANSOMWARE_EXTENSION_FILES
    baseline_points: int = 10  # RANSOMWARE_BASELINE_POINTS

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            change_share=settings.ransomware_change_percent / 100,
            encrypted_share=settings.ransomware_encrypted_percent / 100,
            min_files=settings.ransomware_min_files,
            extension_files=settings.ransomware_extension_files,
            baseline_points=settings.ransomware_baseline_points,
        )

    def floor(self, share: str) -> float:
        return self.encrypted_share if share == "encrypted" else self.change_share


@dataclass(frozen=True)
class Assessment:
    signals: dict[str, Any]  # the run's counts, shares and limits (stored with the point)
    suspicious: bool = False
    reasons: list[str] = field(default_factory=list)


def shares(counts: dict[str, Any]) -> dict[str, float | None]:
    """Each share of the run, None where it has no denominator (no live files before, no judged content)."""
    live, judged = int(counts.get("live_before", 0)), int(counts.get("judged", 0))
    out: dict[str, float | None] = {k: (int(counts.get(k, 0)) / live if live else None) for k in SHARES[:3]}
    out["encrypted"] = int(counts.get("encrypted", 0)) / judged if judged else None
    return out


def limit(values: list[float], floor: float, needed: int) -> float | None:
    """The share above which a run is suspicious, from the baseline's `values`; None while it has fewer than
    `needed` values (still learning)."""
    if len(values) < max(1, needed):
        return None
    median = statistics.median(values)
    spread = _MAD_SCALE * statistics.median(abs(v - median) for v in values)
    return max(floor, median + max(SPREAD_FACTOR * spread, floor / 2))


def assess(thresholds: Thresholds, counts: dict[str, Any], window: list[dict[str, Any]]) -> Assessment:
    """Judge one run's `counts` (RunSignals.counts()) against the baseline `window` (earlier runs' shares)."""
    now = shares(counts)
    reasons: list[str] = []
    limits: dict[str, float | None] = {}
    for name in SHARES:
        values = [float(e[name]) for e in window if e.get(name) is not None]
        limits[name] = bound = limit(values, thresholds.floor(name), MIN_BASELINE[name])
        share, count = now[name], int(counts.get(name, 0))  # the share, and how many files it stands for
        if bound is None or share is None or count < thresholds.min_files or share <= bound:
            continue
        median = statistics.median(values)
        if name == "encrypted":
            seen = ", ".join(counts.get("examples", {}).get("encrypted", []))
            reasons.append(f"{count} of {counts['judged']} new file contents look encrypted ({share:.0%}; limit "
                           f"{bound:.0%}, usually {median:.0%}): {seen}")  # fmt: skip
        else:
            reasons.append(f"{count} of {counts['live_before']} files {name} ({share:.0%}; limit {bound:.0%}, "
                           f"usually {median:.0%})")  # fmt: skip
    named = int(counts.get("ransom_named", 0))
    if named >= thresholds.extension_files:
        seen = ", ".join(counts.get("examples", {}).get("ransom_named", []))
        reasons.append(f"{named} files named with a known ransomware extension: {seen}")
    signals = {**counts, "shares": now, "limits": limits}
    return Assessment(signals, bool(reasons), reasons)


def next_window(window: list[dict[str, Any]], run_id: str, now: dict[str, float | None], keep: int) -> list[dict]:
    """The baseline after an unflagged usable run: its shares added (replacing a value of the same run: a retried
    activity), the last `keep` runs kept."""
    entries = [e for e in window if e.get("run") != run_id] + [{"run": run_id, **now}]
    return sorted(entries, key=lambda e: str(e["run"]))[-max(1, keep) :]


def assess_point(services: Services, run_id: str, result: dict[str, Any], signals: RunSignals) -> Assessment | None:
    """The assessment of a resource's restore point of `run_id` (None when its workload tracks no signal, or the
    point is not usable), logged when suspicious: a warning with the message SUSPICIOUS_MESSAGE and the fields
    `resource`, `run_id`, `reasons` (as `extra`), for alerts to match."""
    if not signals.tracked or result.get("status") not in USABLE:
        return None
    resource = result["resource"]
    thresholds = Thresholds.from_settings(services.settings)
    window = [e for e in services.runs.baselines.window(resource) if str(e.get("run", "")) < run_id]
    assessment = assess(thresholds, signals.counts(), window)
    earlier = services.runs.point(resource, run_id)  # a retried activity sees what the first attempt flagged
    if not assessment.suspicious and earlier is not None and earlier["suspicious"]:
        return Assessment(earlier["signals"], True, earlier["suspicious_reasons"])  # the retry saw no change
    if assessment.suspicious:
        log.warning(SUSPICIOUS_MESSAGE, extra={"signal": "suspicious_restore_point", "resource": resource,
                                               "run_id": run_id, "reasons": assessment.reasons})  # fmt: skip
    return assessment


def learn(services: Services, run_id: str, resource: str, assessment: Assessment | None) -> None:
    """After the point is recorded: an unflagged point's shares join the resource's baseline."""
    if assessment is None or assessment.suspicious:
        return
    keep = services.settings.ransomware_baseline_points
    window = services.runs.baselines.window(resource)
    services.runs.baselines.save(resource, next_window(window, run_id, assessment.signals["shares"], keep))
