#!/usr/bin/env bash
# Register (or update) the app registration that PROTECTS the restore API (a second app, separate from the Graph
# app the backup signs in with): identifier URI api://<client id>, v2.0 access tokens, a delegated scope
# `access_as_user` for people (self-service and operators signing in), and two app roles:
#   Backup.Admin      everything: backups, restores, exports, the audit log, the dashboard
#   Restore.Operator  browse, restore and export any mailbox, OneDrive or site (the help desk)
# Signed-in users without a role may browse, restore and export only their own mailbox and OneDrive.
# Assign roles in Entra admin center → Enterprise applications → <name> → Users and groups (people and groups), or
# grant them as application permissions to an automation's app. Prints the API_AUDIENCE value to deploy with.
#
# With --portal-url, the restore portal's URL (https://<app>.azurewebsites.net/api/v1/portal, or `azd env get-value
# FUNCTION_APP_URL` + /api/v1/portal) becomes a single-page-application redirect URI: the portal signs in as this
# app (authorization code + PKCE; no implicit grant, no secret). Run again with it once the Function App exists.
#
# Usage: scripts/register_api_app.sh [--name NAME] [--portal-url URL]      (default name: m365-backup-api)
# Requires: az (logged in to the tenant: `az login --tenant <tenant> --allow-no-subscriptions`).
set -euo pipefail

name="m365-backup-api"
portal_url=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --portal-url) portal_url="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ -n "$portal_url" && "$portal_url" != https://* && "$portal_url" != http://localhost* ]]; then
  echo "--portal-url must be https:// (or http://localhost for a local test)" >&2; exit 2
fi

roles="$(mktemp)"
trap 'rm -f "$roles"' EXIT
cat > "$roles" <<'JSON'
[
  {"allowedMemberTypes": ["User", "Application"], "displayName": "Backup administrator", "isEnabled": true,
   "description": "Start backups, restore and export anything, read the audit log and the dashboard.",
   "value": "Backup.Admin"},
  {"allowedMemberTypes": ["User", "Application"], "displayName": "Restore operator", "isEnabled": true,
   "description": "Browse, restore and export any mailbox, OneDrive or site.", "value": "Restore.Operator"}
]
JSON

app_id="$(az ad app list --display-name "$name" --query "[0].appId" -o tsv)"
if [[ -z "$app_id" ]]; then
  app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --app-roles "@$roles" \
    --query appId -o tsv)"
  echo "created app registration $name ($app_id)"
else
  az ad app update --id "$app_id" --app-roles "@$roles"
  echo "updated app registration $name ($app_id)"
fi
az ad app update --id "$app_id" --identifier-uris "api://$app_id"
if [[ -z "$(az ad sp list --filter "appId eq '$app_id'" --query "[0].id" -o tsv)" ]]; then
  az ad sp create --id "$app_id" --output none
fi

# v2.0 tokens (issuer https://login.microsoftonline.com/<tenant>/v2.0, which the API checks) and the delegated scope
object_id="$(az ad app show --id "$app_id" --query id -o tsv)"
scope_id="$(az ad app show --id "$app_id" --query "api.oauth2PermissionScopes[?value=='access_as_user'].id | [0]" -o tsv)"
[[ -z "$scope_id" ]] && scope_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$object_id" \
  --headers "Content-Type=application/json" --body "{\"api\": {\"requestedAccessTokenVersion\": 2,
    \"oauth2PermissionScopes\": [{\"id\": \"$scope_id\", \"value\": \"access_as_user\", \"type\": \"User\",
    \"isEnabled\": true, \"adminConsentDisplayName\": \"Use the Microsoft 365 backup restore API\",
    \"adminConsentDescription\": \"Browse, restore and export backups as the signed-in user allows.\",
    \"userConsentDisplayName\": \"Restore your own mail and files\",
    \"userConsentDescription\": \"Browse and restore your own mailbox and OneDrive from backups.\"}]}}"

# the portal's sign-in: its URL as an SPA redirect URI, kept with any the registration already has
if [[ -n "$portal_url" ]]; then
  uris="$(az ad app show --id "$app_id" --query "spa.redirectUris" -o json | python3 -c '
import json, sys
uris = json.load(sys.stdin) or []
url = sys.argv[1].rstrip("/")
print(json.dumps(uris if url in uris else [*uris, url]))' "$portal_url")"
  az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$object_id" \
    --headers "Content-Type=application/json" --body "{\"spa\": {\"redirectUris\": $uris}}"
  echo "portal redirect URI (single-page application): ${portal_url%/}"
fi

echo
echo "API_AUDIENCE=api://$app_id,$app_id"
echo "next: azd env set API_AUDIENCE \"api://$app_id,$app_id\" && azd provision"
echo "      then assign Backup.Admin / Restore.Operator in Enterprise applications → $name → Users and groups"
[[ -z "$portal_url" ]] && echo "      and, once deployed: $0 --portal-url \"\$(azd env get-value FUNCTION_APP_URL)/api/v1/portal\""
exit 0
