import threading
import time

from core.graph.limiter import MailboxLimiter
from core.workloads.exchange.mailbox_budget import mailbox_of


def test_mailbox_of_reads_mailbox_scoped_urls_only():
    assert mailbox_of("https://g/v1.0/users/ABC/mailFolders/x/messages/delta") == "abc"
    assert mailbox_of("users/u1/messages/m1/$value") == "u1"
    # contacts and calendars draw on the same mailbox budget as mail
    assert mailbox_of("https://g/v1.0/users/U1/contactFolders/f/contacts/delta") == "u1"
    assert mailbox_of("https://g/v1.0/users/u1/calendars/c/calendarView/delta?startDateTime=x") == "u1"
    assert mailbox_of("https://g/v1.0/users/u1/events/e/attachments/a/$value") == "u1"
    assert mailbox_of("https://g/v1.0/users?$top=10") is None
    assert mailbox_of("https://g/v1.0/users/u1") is None
    # an archive's mailbox import/export URLs share the budget of its beta Mail API URLs (the same MBX id)
    archive = "MBX%3Aab12%40t1"
    assert mailbox_of(f"https://g/beta/admin/exchange/mailboxes/{archive}/exportItems") == archive.lower()
    assert mailbox_of(f"https://g/beta/users/{archive}/mailFolders/f/messages/delta") == archive.lower()


def test_no_more_than_n_requests_in_flight_per_mailbox():
    limiter = MailboxLimiter(concurrency=4, per_window=10_000)
    in_flight = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}
    lock = threading.Lock()

    def request(mailbox: str) -> None:
        with limiter.slot(mailbox):
            with lock:
                in_flight[mailbox] += 1
                peak[mailbox] = max(peak[mailbox], in_flight[mailbox])
            time.sleep(0.01)
            with lock:
                in_flight[mailbox] -= 1

    threads = [threading.Thread(target=request, args=(m,)) for m in ("a", "b") * 20]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == {"a": 4, "b": 4}


def test_window_budget_waits_for_the_oldest_request_to_age_out():
    now = [0.0]
    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = MailboxLimiter(concurrency=4, per_window=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        with limiter.slot("m"):
            now[0] += 1
    with limiter.slot("m"):
        pass
    assert slept and abs(sum(slept) - 597) < 0.1  # the first request (t=0) ages out at t=600
    with limiter.slot("other"):
        pass  # another mailbox has its own budget
    assert len(slept) == 1
