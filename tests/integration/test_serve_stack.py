"""`make serve`'s startup (devenv/serve.py serve_stack): everything starts, the portal is registered with the
simulated sign-in service at the URL it is served from, the printed admin token opens the dashboard, and leaving
the context stops the simulator and Azurite."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from devenv.serve import APP_ID_URI, CLIENT_ID, serve_stack


def test_the_local_stack_starts_serves_and_stops(tmp_path):
    with serve_stack(tmp_path, port=0, users=2, messages=3, drive_files=2, contacts=0, events=0) as stack:
        page = httpx.get(stack.portal_url)
        assert page.status_code == 200 and CLIENT_ID in page.text and f"{APP_ID_URI}/access_as_user" in page.text
        dashboard = httpx.get(stack.dashboard_url, headers={"Authorization": f"Bearer {stack.admin_token}"})
        assert dashboard.status_code == 200 and "<svg" in dashboard.text
        assert stack.token_file.read_text() == stack.admin_token
        sign_in = httpx.get(
            f"{stack.sim.base_url}/{stack.sim.tenant_id}/oauth2/v2.0/authorize?"
            + urlencode(
                {
                    "client_id": CLIENT_ID,
                    "redirect_uri": stack.portal_url,
                    "response_type": "code",
                    "scope": f"openid {APP_ID_URI}/access_as_user",
                    "code_challenge": "x" * 43,
                }
            ),
            verify=stack.sim.ca_file,
        )
        assert sign_in.status_code == 200
        assert all(u["userPrincipalName"] in sign_in.text for u in stack.users)
        assert any(stack.operator in line and "Restore.Operator" in line for line in stack.lines())
        process = stack.sim.process
    assert process.poll() is not None  # the simulator was stopped on the way out
