"""The ransomware signal's pure parts: the content rules (entropy, magic numbers, extensions), the counts a backup
keeps, and the judgement against a resource's rolling baseline."""

import random

import pytest

from core.signals import content_rules as rules
from core.signals.assessment import Thresholds, assess, limit, next_window, shares
from core.signals.clean_point import last_clean_point, newest_suspicious
from core.signals.run_signals import RunSignals

RANDOM = random.Random(7).randbytes(64 * 1024)
TEXT = ("Quarterly figures, draft 3. Revenue grew in every region but one.\n" * 800).encode()


def test_entropy_of_random_bytes_is_near_8_and_of_text_far_below():
    assert rules.entropy(RANDOM) > 7.9
    assert rules.entropy(TEXT) < 5
    assert rules.entropy(b"") == 0.0
    assert rules.entropy(b"aaaa") == 0.0


@pytest.mark.parametrize(
    ("name", "sample", "verdict"),
    [
        ("notes.txt", TEXT, rules.OK),
        ("notes.txt", RANDOM, rules.ENCRYPTED),
        ("Budget.CSV", RANDOM, rules.ENCRYPTED),  # the extension is matched whatever its case
        ("report.docx", b"PK\x03\x04" + RANDOM, rules.OK),  # compressed by nature: never judged by entropy
        ("report.docx", RANDOM, rules.BROKEN_MAGIC),  # a .docx that does not start with PK
        ("scan.pdf", b"%PDF-1.7\n" + RANDOM, rules.OK),
        ("scan.pdf", b"\r\n%PDF-1.4" + RANDOM, rules.OK),  # bytes before %PDF, within the first KiB
        ("scan.pdf", RANDOM, rules.BROKEN_MAGIC),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + RANDOM, rules.OK),
        ("logo.png", RANDOM, rules.BROKEN_MAGIC),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + RANDOM, rules.OK),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), rules.OK),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + RANDOM, rules.ENCRYPTED),  # uncompressed, yet random
        ("archive.bin", RANDOM, rules.UNJUDGED),  # a type the rules know nothing of
        ("no-extension", RANDOM, rules.UNJUDGED),
        ("report.docx.locky", RANDOM, rules.BROKEN_MAGIC),  # the type before a ransomware extension
        ("notes.txt.wncry", TEXT, rules.OK),
        ("tiny.txt", RANDOM[:100], rules.UNJUDGED),  # too few bytes to tell by entropy
        ("notes.txt", b"PK\x03\x04" + RANDOM, rules.UNJUDGED),  # a compressed format's signature: not by entropy
    ],
)
def test_judge(name, sample, verdict):
    assert rules.judge(name, sample) == verdict


def test_known_ransomware_extensions():
    for name in ("budget.xlsx.locky", "a.WNCRY", "x.docx.encrypted", "y.crypt", "z.lockbit"):
        assert rules.has_ransom_extension(name), name
    for name in ("budget.xlsx", "locky.txt", "notes.crypt.txt", "encrypted", ""):
        assert not rules.has_ransom_extension(name), name


def test_the_sample_keeps_only_the_first_64_kib_and_restarts():
    sink = rules.SampleSink()
    for _ in range(5):
        sink.feed(b"x" * 30_000)
    assert sink.sample == b"x" * rules.SAMPLE_BYTES
    sink.restart()
    sink.feed(b"abc")
    assert sink.sample == b"abc"


def test_run_signals_count_new_changed_renamed_deleted_and_content():
    s = RunSignals()
    s.track(40)
    s.file_version("a.docx", new=True, content_changed=True, renamed=False)
    s.file_version("b.docx.locky", new=False, content_changed=True, renamed=True)
    s.file_version("c.txt", new=False, content_changed=False, renamed=True)
    s.file_deleted(2)
    s.content("b.docx.locky", RANDOM)  # judged as the .docx it was
    s.content("d.bin", RANDOM)  # not judged
    s.content("e.txt", TEXT)
    counts = s.counts()
    assert counts["live_before"] == 40
    assert (counts["added"], counts["changed"], counts["renamed"], counts["deleted"]) == (1, 1, 2, 2)
    assert (counts["judged"], counts["encrypted"], counts["ransom_named"]) == (2, 1, 1)
    assert counts["examples"] == {"ransom_named": ["b.docx.locky"], "encrypted": ["b.docx.locky (broken-magic)"]}
    assert RunSignals().tracked is False and s.tracked is True


def _counts(live=100, changed=0, renamed=0, deleted=0, judged=0, encrypted=0, ransom_named=0):
    return {"live_before": live, "added": 0, "changed": changed, "renamed": renamed, "deleted": deleted,
            "judged": judged, "encrypted": encrypted, "ransom_named": ransom_named,
            "examples": {"encrypted": ["a.docx (broken-magic)"], "ransom_named": ["a.docx.locky"]}}  # fmt: skip


def _window(values, name="changed", others=0.0):
    return [{"run": f"r{i:02d}", **dict.fromkeys(("changed", "renamed", "deleted", "encrypted"), others),
             name: v} for i, v in enumerate(values)]  # fmt: skip


def test_limits_learn_the_baseline():
    assert limit([0.0, 0.01], 0.3, 3) is None  # still learning
    assert limit([0.0, 0.01, 0.02], 0.3, 3) == pytest.approx(0.3)  # a quiet resource: the floor
    busy = limit([0.40, 0.45, 0.50, 0.42, 0.48], 0.3, 3)
    assert busy == pytest.approx(0.6)  # a busy one: its median 0.45 and a margin, above the floor


def test_a_quiet_resource_is_flagged_for_a_burst_of_changes_and_a_normal_day_is_not():
    t = Thresholds()
    window = _window([0.02, 0.05, 0.03, 0.04])
    assert not assess(t, _counts(changed=6), window).suspicious
    flagged = assess(t, _counts(changed=60, renamed=60), window)
    assert flagged.suspicious
    assert flagged.reasons[0].startswith("60 of 100 files changed (60%; limit 30%")
    assert any("renamed" in r for r in flagged.reasons)
    assert flagged.signals["shares"]["changed"] == pytest.approx(0.6)


def test_a_busy_resource_is_not_flagged_for_being_busy():
    window = _window([0.55, 0.6, 0.5, 0.58, 0.62])
    assert not assess(Thresholds(), _counts(changed=61), window).suspicious


def test_too_few_files_or_no_baseline_flag_nothing():
    t = Thresholds()
    assert not assess(t, _counts(live=12, changed=9), _window([0.0, 0.0, 0.0])).suspicious  # under min_files
    assert not assess(t, _counts(changed=90), []).suspicious  # no baseline yet


def test_encrypted_content_is_judged_against_the_first_backup_already():
    t = Thresholds()
    window = _window([0.0], name="encrypted")
    for entry in window:
        entry.update(changed=None, renamed=None, deleted=None)
    flagged = assess(t, _counts(judged=20, encrypted=12), window)
    assert flagged.suspicious
    assert "12 of 20 new file contents look encrypted (60%" in flagged.reasons[0]
    # a resource whose content always looks random (the simulator's generated files) is not flagged for it
    assert not assess(t, _counts(judged=20, encrypted=20), _window([1.0], name="encrypted")).suspicious


def test_ransomware_extensions_flag_whatever_the_baseline():
    flagged = assess(Thresholds(), _counts(ransom_named=3), [])
    assert flagged.suspicious
    assert flagged.reasons == ["3 files named with a known ransomware extension: a.docx.locky"]
    assert not assess(Thresholds(), _counts(ransom_named=2), []).suspicious


def test_shares_and_the_window():
    assert shares(_counts(live=0, judged=0)) == dict.fromkeys(("changed", "renamed", "deleted", "encrypted"))
    window = next_window(_window([0.1, 0.2, 0.3]), "r01", {"changed": 0.9}, keep=10)  # a retry replaces its run
    assert [e["run"] for e in window] == ["r00", "r01", "r02"] and window[1] == {"run": "r01", "changed": 0.9}
    assert [e["run"] for e in next_window(_window([0.1] * 5), "r09", {}, keep=3)] == ["r03", "r04", "r09"]


def test_thresholds_come_from_the_settings():
    from core.config import ConfigError, load_settings
    from tests.unit.test_config import BASE

    assert Thresholds.from_settings(load_settings(BASE)) == Thresholds()
    tuned = load_settings({**BASE, "RANSOMWARE_CHANGE_PERCENT": "50", "RANSOMWARE_MIN_FILES": "25"})
    assert (Thresholds.from_settings(tuned).change_share, Thresholds.from_settings(tuned).min_files) == (0.5, 25)
    with pytest.raises(ConfigError, match="RANSOMWARE_EXTENSION_FILES"):
        load_settings({**BASE, "RANSOMWARE_EXTENSION_FILES": "0"})


def test_last_clean_point():
    points = [
        {"run_id": "1", "status": "succeeded"},
        {"run_id": "2", "status": "partial"},
        {"run_id": "3", "status": "failed"},
        {"run_id": "4", "status": "succeeded", "suspicious": True},
    ]
    assert last_clean_point(points) == "2"
    assert newest_suspicious(points)["run_id"] == "4"
    assert newest_suspicious(points[:2]) is None
    assert last_clean_point(points[3:]) is None
