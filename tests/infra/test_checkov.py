"""checkov scans infra/ (Bicep) offline: no parsing error, no failed check, every skip justified.

checkov pins packaging<24 and so cannot share a virtualenv with this project's pytest; it lives in its own
virtualenv. The test finds it through $CHECKOV, next to this interpreter, on PATH, or in .venv-checkov/.
checkov 3.3.x has no `--hard-fail-on-parsing-errors` (a file it cannot parse is reported, not failed), so the
test reads the JSON report and fails on parsing errors itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.bicep import INFRA, REPO, all_templates


def _checkov() -> str:
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(Path(sys.executable).with_name("checkov")),
        shutil.which("checkov") or "",
        str(REPO / ".venv-checkov" / "bin" / "checkov"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "checkov not found: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install -r "
        "infra/requirements-checkov.txt (or set CHECKOV=/path/to/checkov)"
    )


@pytest.fixture(scope="module")
def report() -> dict:
    command = [_checkov(), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=REPO, check=False)
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    document = json.loads(result.stdout)
    if isinstance(document, list):  # one report per framework
        [document] = [d for d in document if d.get("check_type") == "bicep"]
    document["exit_code"] = result.returncode
    return document


def test_checkov_parses_every_template(report: dict) -> None:
    assert report["summary"]["parsing_errors"] == 0, report["results"].get("parsing_errors")
    scanned = {Path(check["file_path"]).name for check in report["results"]["passed_checks"]}
    scanned |= {Path(check["file_path"]).name for check in report["results"]["skipped_checks"]}
    for template in ("backup-storage.bicep", "runtime-storage.bicep", "key-vault.bicep", "function-app.bicep"):
        assert template in scanned
    assert len(all_templates()) >= 10


def test_checkov_has_no_failed_check(report: dict) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["exit_code"] == 0


def test_every_skipped_check_is_justified(report: dict) -> None:
    for check in report["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"
