"""Verification: proof that the backup can still be restored. Every content blob a catalog version references
(each category names its blobs: `Category.content_refs`, e.g. a message's MIME, an event's attachments, a channel
message's inline images) is read back whole and re-hashed against its SHA-256 address; a blob that is gone, that
hashes to something else (written behind the app's back, or damaged) or that cannot be read is a problem, named with
the resource, item and version that need it.

A sample (`fraction` < 1) checks each blob with that probability, decided by a hash of the verification's seed and
the blob's address: reproducible for one seed, a different share of the content every verification. A resource is
verified on its own (`verify_resource`, one Durable activity per resource in Azure); `verify` runs them all here and
records the summary (core/storage/verifications.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import ContentIntegrityError, InvalidRequestError, NotFoundError
from core.planning import new_run_id
from core.storage.catalog import ItemVersion
from core.workloads import registry

if TYPE_CHECKING:
    from core.bootstrap import Services

MAX_PROBLEMS = 200  # listed per resource and per verification; the counts cover them all
COUNTS = ("versions", "blobs", "checked", "bytes", "missing", "corrupted", "unreadable")


@dataclass(frozen=True)
class Problem:
    problem: str  # 'missing', 'corrupted' or 'unreadable'
    sha256: str
    resource: str
    category: str
    item_id: str
    first_seen_run: str
    name: str
    detail: str


@dataclass
class ResourceVerification:
    resource: str
    versions: int = 0  # catalog versions walked
    blobs: int = 0  # distinct blobs they reference
    checked: int = 0  # of those, read back (the sample)
    bytes: int = 0
    missing: int = 0
    corrupted: int = 0
    unreadable: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_fraction(percent: float) -> float:
    """A sample given in percent (0 < p <= 100) as a fraction; InvalidRequestError otherwise."""
    if not 0 < percent <= 100:
        raise InvalidRequestError(f"the sample must be more than 0 and at most 100 percent, not {percent:g}")
    return percent / 100


def sampled(sha256: str, fraction: float, seed: str) -> bool:
    if fraction >= 1:
        return True
    draw = int.from_bytes(hashlib.sha256(f"{seed}:{sha256}".encode()).digest()[:8], "big")
    return draw < fraction * 2**64


def _referenced(resource: str, versions: Iterable[ItemVersion]) -> tuple[int, dict[str, ItemVersion]]:
    """(versions walked, blob address -> the first version that needs it)."""
    refs = registry.content_refs(resource)
    needed: dict[str, ItemVersion] = {}
    count = 0
    for version in versions:
        count += 1
        for sha in refs(version):
            needed.setdefault(sha, version)
    return count, needed


def _read_back(services: Services, sha256: str) -> tuple[str, int, str]:
    """('' or the problem, bytes read, detail): the whole blob streamed and re-hashed."""
    size = 0
    try:
        for chunk in services.content.iter_chunks(sha256):
            size += len(chunk)
    except NotFoundError:
        return "missing", size, "no blob at its address"
    except ContentIntegrityError as exc:
        return "corrupted", size, str(exc)
    except Exception as exc:  # storage errors of any kind: this blob could not be proven, the others still can
        return "unreadable", size, " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return "", size, ""


def verify_resource(services: Services, resource: str, fraction: float = 1.0, seed: str = "") -> ResourceVerification:
    """Read back the blobs (or the sample of them) every version of one resource references."""
    result = ResourceVerification(resource)
    result.versions, needed = _referenced(resource, services.catalog.all_versions(resource))
    result.blobs = len(needed)
    chosen = [sha for sha in sorted(needed) if sampled(sha, fraction, seed)]
    with ThreadPoolExecutor(max(1, services.settings.item_concurrency), thread_name_prefix="verify") as pool:
        for sha, (problem, size, detail) in zip(
            chosen, pool.map(lambda s: _read_back(services, s), chosen), strict=True
        ):
            result.checked += 1
            result.bytes += size
            if not problem:
                continue
            setattr(result, problem, getattr(result, problem) + 1)
            if len(result.problems) < MAX_PROBLEMS:
                v = needed[sha]
                found = Problem(problem, sha, resource, v.category, v.item_id, v.first_seen_run, v.name, detail)
                result.problems.append(asdict(found))
    return result


def add_up(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts of several resources' (or batches') results summed, their problems listed (at most
    MAX_PROBLEMS): what a batch returns and what a verification records, so neither grows with the resources."""
    totals: dict[str, Any] = {key: sum(int(p.get(key, 0) or 0) for p in parts) for key in COUNTS}
    totals["resources"] = sum(int(p.get("resources", 1) or 0) for p in parts)  # a resource's result counts 1
    totals["problems"] = [problem for p in parts for problem in p.get("problems") or []][:MAX_PROBLEMS]
    return totals


def failed_resource(resource: str, error: str) -> dict[str, Any]:
    """The result of a resource whose verification itself failed (storage unreachable, say): unreadable, named."""
    problem = Problem("unreadable", "", resource, "", "", "", "", error[:300])
    return {**ResourceVerification(resource, unreadable=1).to_dict(), "problems": [asdict(problem)]}


def failed_batch(count: int, error: str) -> dict[str, Any]:
    """The result of `count` resources whose batch failed before verifying them (its keys could not be read, so
    they are counted, not named): unreadable, with one problem saying so. Pure: an orchestrator calls it."""
    problem = Problem("unreadable", "", "", "", "", "", "", f"{count} resources: batch failed: {error}"[:300])
    return {**dict.fromkeys(COUNTS, 0), "resources": count, "unreadable": count, "problems": [asdict(problem)]}


def summarize(
    verification_id: str, started_at: str, finished_at: str, fraction: float, trigger: str, totals: dict[str, Any]
) -> dict[str, Any]:
    """One verification's record from its summed results (add_up). Pure: an orchestrator may call it."""
    summary: dict[str, Any] = {"verification_id": verification_id, "trigger": trigger, "sample": fraction}
    summary.update(started_at=started_at, finished_at=finished_at, **totals)
    bad = summary["missing"] + summary["corrupted"] + summary["unreadable"]
    summary["status"] = "problems" if bad else "ok"
    return summary


def verify(
    services: Services,
    resources: list[str] | None = None,
    fraction: float = 1.0,
    trigger: str = "cli",
    progress: Callable[[ResourceVerification], None] | None = None,
) -> dict[str, Any]:
    """Verify every backed-up resource (or `resources`), record the summary and return it."""
    started = datetime.now(UTC)
    verification_id = new_run_id(started)
    known = services.runs.resources()
    if resources:
        unknown = [r for r in resources if r not in known]
        if unknown:
            raise NotFoundError(f"no backup of {', '.join(unknown)}")
    results = []
    for resource in resources or sorted(known):
        result = verify_resource(services, resource, fraction, seed=verification_id)
        results.append(result.to_dict())
        if progress is not None:
            progress(result)
    finished = datetime.now(UTC).isoformat()
    summary = summarize(verification_id, started.isoformat(), finished, fraction, trigger, add_up(results))
    record(services, summary)
    return summary


def record(services: Services, summary: dict[str, Any]) -> None:
    """Keep a verification's record (the API and the dashboard read it) and report it (an alert watches for
    status 'problems'): the CLI's verify and the scheduled one's last activity both end here."""
    services.runs.verifications.record(summary)
    services.telemetry.verification_finished(summary)
