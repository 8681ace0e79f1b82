"""A delta round keeps the mailbox's request slots busy across page boundaries (core/delta/pipeline.py): the next
page is read and the next page's downloads run while a page's downloads finish. Observed in the simulator's own
count of requests in flight per mailbox, never by time; the round still ends with every item of every page in."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.delta.containers import Container
from core.models import BackupReport
from core.workloads import container_delta
from core.workloads.exchange.mail_backup import MAIL_KIND
from core.workloads.kind_job import kind_job
from tests.integration.tenant import Tenant, open_tenant

PAGE = 2  # fewer items a page than the mailbox has request slots (4)
MESSAGES = 16


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    settings = {"GRAPH_PAGE_SIZE": str(PAGE)}
    t = open_tenant(tmp_path / "sim", storage_env, settings, users=1, messages=0, seed=5, contacts=0, events=0,
                    tasks=0, archive_messages=0, latency_ms=40, mailbox_concurrency=4)  # fmt: skip
    yield t
    t.close()


def _inbox(tenant: Tenant, user: str) -> Container:
    state = next(u for u in tenant.sim.control.state()["users"] if u["id"] == user)
    folder = next(f for f in state["folders"] if f.get("wellKnownName") == "inbox")
    return Container(folder["id"], folder["displayName"], "", folder["displayName"])


def _round(tenant: Tenant, user: str, inbox: Container, pool_size: int) -> container_delta.RoundDone:
    services, resource = tenant.services, f"exchange:{user}"
    with ThreadPoolExecutor(pool_size) as pool:
        job = kind_job(services, resource, user, "run-pipeline", BackupReport(resource), MAIL_KIND, pool, held=[])
        done = container_delta.run_round(job, inbox, None)
        job.writer.flush()
    return done


def test_a_round_of_small_pages_fills_every_slot_of_the_mailbox(tenant: Tenant):
    user = tenant.user(0)["id"]
    inbox = _inbox(tenant, user)
    for n in range(MESSAGES):
        tenant.sim.control.add_message(user, "inbox", subject=f"pipelined {n}")
    tenant.sim.control.reset_stats()

    done = _round(tenant, user, inbox, pool_size=4)

    stats = tenant.sim.control.stats()
    assert stats["by_kind"]["value"] == MESSAGES and stats["answered_429"] == 0
    assert stats["by_kind"]["delta"] >= MESSAGES // PAGE  # pages of two
    # two downloads a page: more than two requests at once only if a page's downloads overlap the next page's read
    # or downloads; a round that waited for each page's downloads before reading on peaks at two (checked: it does)
    assert PAGE < stats["max_in_flight"][user] <= 4
    assert done.seen == set(tenant.live_messages(user)) and done.delta_link
    assert done.settlement.failures == []


def test_a_failed_download_fails_only_its_item_and_the_round_ends_with_the_others(tenant: Tenant):
    user = tenant.user(0)["id"]
    inbox = _inbox(tenant, user)
    added = [tenant.sim.control.add_message(user, "inbox", subject=f"m{n}")["id"] for n in range(MESSAGES)]
    bad = added[3]  # on the second page, while the first page's downloads and the third page are in flight
    tenant.sim.control.set_faults({"kind": "corrupt_message", "user": user, "message": bad})

    done = _round(tenant, user, inbox, pool_size=4)

    assert [f.key for f in done.settlement.failures] == [bad]
    assert done.seen == set(added) and done.delta_link  # the round ends; its link may be saved, the item held
    assert {key for key, how in done.settlement.released if how == "captured"} == set(added) - {bad}
    index = tenant.services.catalog.open_index(f"exchange:{user}", "mail")
    assert set(index) == set(added) - {bad}  # every sibling recorded, across every page
