"""scripts/register_api_app.sh against a stand-in `az` (the Azure CLI needs Entra, which this machine cannot reach):
the stand-in answers the queries the script makes and records every call, so the test sees exactly what the script
would change in the tenant — above all the portal's SPA redirect URI, kept alongside the ones already there."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "register_api_app.sh"
APP_ID = "11111111-2222-3333-4444-555555555555"

FAKE_AZ = f"""#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$AZ_LOG"
case "$*" in
  "ad app list"*) echo "{APP_ID}" ;;
  *"spa.redirectUris"*) echo '["https://old.example/api/v1/portal"]' ;;
  "ad app show"*"--query id"*) echo "object-1" ;;
  "ad app show"*"oauth2PermissionScopes"*) echo "scope-1" ;;
  "ad sp list"*) echo "sp-1" ;;
esac
"""


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    log = tmp_path / "az.log"
    log.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AZ_LOG": str(log)}
    done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False)
    return done, log.read_text().splitlines()


def _spa_patch(calls: list[str]) -> dict | None:
    for call in calls:
        if call.startswith("rest --method PATCH") and '"spa"' in call:
            return json.loads(call.split("--body ", 1)[1])
    return None


def test_the_portal_url_is_added_as_an_spa_redirect_uri_beside_the_existing_ones(tmp_path):
    done, calls = _run(tmp_path, "--portal-url", "https://backup.example/api/v1/portal/")
    assert done.returncode == 0, done.stderr
    assert _spa_patch(calls) == {"spa": {"redirectUris": ["https://old.example/api/v1/portal",
                                                          "https://backup.example/api/v1/portal"]}}  # fmt: skip
    assert f"API_AUDIENCE=api://{APP_ID},{APP_ID}" in done.stdout
    assert any(f"--identifier-uris api://{APP_ID}" in c for c in calls)


def test_an_existing_uri_is_not_added_twice_and_no_url_changes_no_redirect(tmp_path):
    _, calls = _run(tmp_path, "--portal-url", "https://old.example/api/v1/portal")
    assert _spa_patch(calls) == {"spa": {"redirectUris": ["https://old.example/api/v1/portal"]}}
    done, calls = _run(tmp_path)
    assert done.returncode == 0 and _spa_patch(calls) is None and "--portal-url" in done.stdout


def test_a_plain_http_portal_url_is_refused_before_anything_changes_it(tmp_path):
    done, calls = _run(tmp_path, "--portal-url", "http://backup.example/api/v1/portal")
    assert done.returncode == 2 and "https://" in done.stderr
    assert calls == []
