from hypothesis import given
from hypothesis import strategies as st

from core.storage import table_keys as keys
from core.workloads.folder_paths import is_within, join_path, split_path

FORBIDDEN_IN_KEYS = set("/\\#?") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


@given(st.text())
def test_key_escaping_round_trips_and_is_table_safe(part):
    escaped = keys.escape(part)
    assert keys.unescape(escaped) == part
    assert not (set(escaped) & FORBIDDEN_IN_KEYS)


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_joined_keys_split_back(parts):
    assert keys.split(keys.join(*parts)) == parts


@given(st.text(), st.text())
def test_prefix_range_holds_exactly_the_prefixed_keys(a, b):
    low, high = keys.prefix_range("mail", a)
    inside = keys.join("mail", a, b)
    assert low <= inside < high
    other = keys.join("mail", a + "x", b)
    assert not (low <= other < high) or keys.split(other)[1] == a


@given(st.lists(st.text(min_size=1), min_size=1, max_size=5))  # Exchange folder names are never empty
def test_folder_paths_round_trip_names_with_slashes(segments):
    assert split_path(join_path(segments)) == segments


def test_is_within():
    assert is_within("Inbox/Projects/2026", "Inbox/Projects")
    assert is_within("Inbox", "Inbox")
    assert not is_within("Inbox2", "Inbox")
    assert not is_within(join_path(["Inbox/Projects"]), "Inbox")
    assert is_within("anything", "")
