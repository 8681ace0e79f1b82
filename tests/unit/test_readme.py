"""The README's configuration table stays true to core.config.SETTINGS."""

import re
from pathlib import Path

from core.config import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_configuration_table_lists_every_setting_with_its_scope():
    rows = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\| `([A-Z0-9_]+)` \|([^|]*)\| (yes|no) \|", line)
        if match:
            rows[match.group(1)] = match.group(3) == "yes"
    assert rows == {s.name: s.deployed for s in SETTINGS}


def test_quick_start_has_the_two_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
