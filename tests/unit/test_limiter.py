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
    assert mailbox_of("https://g/v1.0/users/U1/todo/lists/l/tasks/delta") == "u1"  # To Do lives in the mailbox
    assert mailbox_of("https://g/v1.0/users/u1/mailboxSettings") == "u1"
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


class FakeClock:
    """Time that moves only when a request waits its turn (or a test lets it pass)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def send_times(limiter: MailboxLimiter, clock: FakeClock, count: int, mailbox: str = "m") -> list[float]:
    """When each of `count` back-to-back requests of one mailbox is sent (once its slot and its turn are there)."""
    sent = []
    for _ in range(count):
        with limiter.slot(mailbox):
            sent.append(clock.now)
    return sent


def most_in_any_window(sent: list[float], window: float) -> int:
    return max(sum(1 for t in sent if start <= t < start + window) for start in sent)


def test_no_ten_minute_window_ever_holds_more_than_the_budget():
    clock = FakeClock()
    limiter = MailboxLimiter(concurrency=4, per_window=1_000, clock=clock, sleep=clock.sleep)
    sent = send_times(limiter, clock, 3_500)  # three and a half windows' worth, back to back
    assert most_in_any_window(sent, 600.0) <= 1_000 - 4  # the in-flight count is left for the service's clock
    assert clock.now > 3 * 600  # and it took the time the budget asks for


def test_the_burst_is_bounded_and_the_rest_is_paced():
    clock = FakeClock()
    limiter = MailboxLimiter(concurrency=4, per_window=1_000, clock=clock, sleep=clock.sleep)
    sent = send_times(limiter, clock, 600)
    burst = sum(1 for t in sent if t == 0.0)
    assert burst == 200  # a fifth of the budget goes at once (a small mailbox: full speed)...
    gaps = [b - a for a, b in zip(sent[burst:], sent[burst + 1 :], strict=False)]
    spacing = 600.0 / (1_000 - 200 - 4)  # ...then one request per refill of one token: never two together
    assert all(abs(gap - spacing) < 1e-6 for gap in gaps)
    assert len(clock.slept) == 600 - 200  # each paced request waited its own turn, not for a window to roll over
    assert max(clock.slept) < 2 * spacing


def test_an_idle_bucket_refills_to_its_burst_and_no_more():
    clock = FakeClock()
    limiter = MailboxLimiter(concurrency=4, per_window=100, clock=clock, sleep=clock.sleep, burst=10)
    assert sum(1 for t in send_times(limiter, clock, 10) if t == 0.0) == 10
    clock.now += 3_600.0  # an hour idle
    started = clock.now
    again = send_times(limiter, clock, 20)
    assert sum(1 for t in again if t == started) == 10  # the bucket holds 10 again, not an hour's refill


def test_concurrent_callers_are_spaced_not_released_together():
    clock = FakeClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.slept.append(seconds)

    limiter = MailboxLimiter(concurrency=4, per_window=1_000, clock=clock, sleep=sleep, burst=1)
    with limiter.slot("m"):
        pass  # the one token of the burst

    def request() -> None:
        with limiter.slot("m"):
            pass

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spacing = 600.0 / (1_000 - 1 - 4)
    # the clock stood still: each caller in debt waits one more spacing than the one before it
    assert sorted(round(s / spacing, 6) for s in clock.slept) == [1.0, 2.0, 3.0, 4.0]


def test_each_mailbox_has_its_own_bucket():
    clock = FakeClock()
    limiter = MailboxLimiter(concurrency=4, per_window=100, clock=clock, sleep=clock.sleep, burst=5)
    send_times(limiter, clock, 5, "a")
    assert clock.slept == []
    send_times(limiter, clock, 5, "B")
    assert clock.slept == []  # another mailbox's burst is its own
    send_times(limiter, clock, 1, "A")  # the same mailbox whatever its case: in debt now
    assert len(clock.slept) == 1


def test_a_batch_takes_a_token_per_request_inside_it():
    clock = FakeClock()
    limiter = MailboxLimiter(concurrency=4, per_window=1_000, clock=clock, sleep=clock.sleep, burst=20)
    with limiter.slot("m", requests=20):  # a JSON batch of 20 to the mailbox: 20 requests to Graph
        pass
    assert clock.slept == []  # the burst held exactly the batch
    send_times(limiter, clock, 1)
    assert len(clock.slept) == 1  # so the next single request waits its turn


def test_a_batch_holds_every_slot_of_its_mailbox_while_in_flight():
    limiter = MailboxLimiter(concurrency=4, per_window=10_000)
    inside, single_sent, single_done = threading.Event(), threading.Event(), threading.Event()
    release = threading.Event()

    def batch() -> None:
        with limiter.slot("m", requests=12):  # Outlook runs up to 4 of a batch's requests at once
            inside.set()
            release.wait(5)

    def single() -> None:
        inside.wait(5)
        with limiter.slot("m"):
            single_sent.set()
        single_done.set()

    threads = [threading.Thread(target=batch), threading.Thread(target=single)]
    for t in threads:
        t.start()
    assert inside.wait(5)
    assert not single_sent.wait(0.2)  # the mailbox's 4 slots are the batch's
    with limiter.slot("other"):  # another mailbox is not held up
        pass
    release.set()
    assert single_done.wait(5) and single_sent.is_set()
    for t in threads:
        t.join()


def test_batches_gathering_slots_at_once_never_deadlock():
    limiter = MailboxLimiter(concurrency=4, per_window=100_000)
    done: list[int] = []

    def caller(n: int) -> None:
        for _ in range(50):
            with limiter.slot("m", requests=3 if n % 2 else 1):
                pass
        done.append(n)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(done) == list(range(8))
