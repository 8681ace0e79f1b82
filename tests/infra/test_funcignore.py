"""What azd packages for the Function App (.funcignore, gitignore syntax: docs "Configure service packaging file
exclusions", https://learn.microsoft.com/azure/developer/azure-developer-cli/service-packaging-ignore-files).
The restore portal serves MSAL for the browser from node_modules: that one file must ship, the rest must not.
Checked with git's own ignore matcher over a scratch tree holding the paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from api.portal_page import MSAL_BUNDLE

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["function_app.py", "core/cli.py", "api/portal_assets/portal.js", str(MSAL_BUNDLE.relative_to(REPO))]
LEFT_OUT = ["node_modules/azurite/package.json", "node_modules/@azure/msal-common/package.json",
            "node_modules/@azure/msal-browser/package.json", "node_modules/@azure/msal-browser/lib/msal-browser.js",
            "tests/conftest.py", "graphsim/app.py", ".venv/bin/python", "bench/common.py"]  # fmt: skip


@pytest.fixture(scope="module")
def ignored(tmp_path_factory) -> set[str]:
    scratch = tmp_path_factory.mktemp("package")
    subprocess.run(["git", "init", "-q", str(scratch)], check=True)
    for name in SHIPPED + LEFT_OUT:
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_text("x")
    done = subprocess.run(
        ["git", "-c", f"core.excludesFile={REPO / '.funcignore'}", "check-ignore", "--no-index", *SHIPPED, *LEFT_OUT],
        cwd=scratch, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: nothing ignored
    return set(done.stdout.split())


def test_the_portal_bundle_and_the_app_ship(ignored):
    assert not ignored & set(SHIPPED), ignored & set(SHIPPED)


def test_the_rest_of_node_modules_and_the_dev_tree_stay_out(ignored):
    assert set(LEFT_OUT) <= ignored, set(LEFT_OUT) - ignored
