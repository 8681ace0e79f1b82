#!/usr/bin/env bash
# Register (or update) the Microsoft Graph app the backup uses, with least-privilege APPLICATION permissions
# for the Exchange workload (mail, contacts, calendars; with WITH_FILES=1 also OneDrive and SharePoint; with
# WITH_TEAMS=1 also Teams channel messages; with WITH_CHATS=1 also Teams chats; with WITH_GROUPS=1 also Microsoft 365
# Groups), and
# optionally grant admin consent and attach the Key Vault certificate.
# The manual steps and the reasons for each permission are in docs/deploy.md.
#
# Usage: scripts/register_graph_app.sh [--name NAME] [--consent] [--key-vault VAULT [--cert-name NAME]]
#   --name        display name of the app registration (default: m365-backup)
#   --consent     grant tenant-wide admin consent now (needs Global Administrator or Privileged Role Administrator)
#   --key-vault   vault created by `azd up` (AZURE_KEY_VAULT_NAME): create the certificate there if missing and
#                 add its public part to the app registration, so the private key never leaves the vault
#   --cert-name   Key Vault certificate name (default: graph-app-certificate, the Bicep default)
# Requires: az (logged in to the Microsoft 365 tenant: `az login --tenant <tenant> --allow-no-subscriptions`).
set -euo pipefail

name="m365-backup"
consent=false
vault=""
cert_name="graph-app-certificate"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --consent) consent=true; shift ;;
    --key-vault) vault="$2"; shift 2 ;;
    --cert-name) cert_name="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

graph_app_id="00000003-0000-0000-c000-000000000000"  # Microsoft Graph (same id in every cloud)
# User.Read.All: list the users. Exchange workload: Mail/Contacts/Calendars.ReadWrite read for backup and write on
# restore (the .Read ones would do for backup only). OneDrive: Files.ReadWrite.All; SharePoint: Sites.ReadWrite.All
# (or Sites.Selected with per-site grants). Keep only what BACKUP_WORKLOADS enables (docs/deploy.md).
# MailboxSettings.Read: a mailbox's userPurpose, which tells shared mailboxes apart (optional).
permissions=("User.Read.All" "Mail.ReadWrite" "Contacts.ReadWrite" "Calendars.ReadWrite" "MailboxSettings.Read")
# Tasks.ReadWrite.All: Microsoft To Do of every mailbox user (backup reads lists, task delta, checklists, linked
# resources, attachments; restore creates them: no mailbox-scoped To Do permission exists for apps).
permissions+=("Tasks.ReadWrite.All")
# In-place archives (on by default): the mailbox import/export API (beta) keeps each archived message's export stream
# and restores into the archive itself: MailboxFolder.Read.All (its folders), MailboxItem.Read.All (a folder's items),
# MailboxItem.ImportExport.All (createImportSession takes nothing less; it covers exportItems too). ARCHIVE_IMPORT=0
# leaves them out: archived messages are then backed up as MIME only and restored into the primary mailbox.
[[ "${ARCHIVE_IMPORT:-1}" == "1" ]] && permissions+=("MailboxFolder.Read.All" "MailboxItem.Read.All"
  "MailboxItem.ImportExport.All")
[[ "${WITH_FILES:-0}" == "1" ]] && permissions+=("Files.ReadWrite.All" "Sites.ReadWrite.All")
# Sites.Manage.All: a SharePoint list restore that makes a list or a column (list items need only Sites.ReadWrite.All;
# "Create columnDefinition" takes no lesser permission). Leave it out if lists are only restored in place.
[[ "${WITH_FILES:-0}" == "1" ]] && permissions+=("Sites.Manage.All")
# WITH_TEAMS=1 (BACKUP_WORKLOADS has teams): discovery of teams (GroupMember.Read.All: list groups with the team
# filter), the team and its settings, members, channels, private/shared channel members, tabs, channel messages
# (ChannelMessage.Read.All is a PROTECTED API: Microsoft must approve the app first, through the request form of
# https://learn.microsoft.com/graph/teams-protected-apis), and restore through migration mode
# (Teamwork.Migrate.All; Channel.Create for a new channel). README, Permissions.
[[ "${WITH_TEAMS:-0}" == "1" ]] && permissions+=("GroupMember.Read.All" "TeamSettings.Read.All" "TeamMember.Read.All"
  "Channel.ReadBasic.All" "ChannelMember.Read.All" "TeamsTab.Read.All" "ChannelMessage.Read.All"
  "Teamwork.Migrate.All" "Channel.Create")
# WITH_CHATS=1 (BACKUP_WORKLOADS has chats): every user's chats with their members and messages (Chat.Read.All, a
# PROTECTED API with application permissions: the same request form; Chat.ReadBasic.All is not needed beside it),
# and restore into one-on-one and group chats through migration mode (Teamwork.Migrate.All). README, Permissions.
if [[ "${WITH_CHATS:-0}" == "1" ]]; then
  permissions+=("Chat.Read.All")
  [[ " ${permissions[*]} " == *" Teamwork.Migrate.All "* ]] || permissions+=("Teamwork.Migrate.All")
  # a chat restore that cannot go back into the chat uploads its transcript into the user's OneDrive
  [[ " ${permissions[*]} " == *" Files.ReadWrite.All "* ]] || permissions+=("Files.ReadWrite.All")
fi

# WITH_GROUPS=1 (BACKUP_WORKLOADS has groups): list Unified groups, group delta of members and owners
# (GroupMember.Read.All, within GroupMember.ReadWrite.All, which the membership restore needs), conversations,
# threads, posts and attachments (Group-Conversation.Read.All, within Group-Conversation.ReadWrite.All, which a
# restore into the group needs). Group calendar events take no application permission. README, Permissions.
[[ "${WITH_GROUPS:-0}" == "1" ]] && permissions+=("GroupMember.ReadWrite.All" "Group-Conversation.ReadWrite.All")
app_id="$(az ad app list --display-name "$name" --query "[0].appId" -o tsv)"
if [[ -z "$app_id" ]]; then
  app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)"
  echo "created app registration $name ($app_id)"
else
  echo "using existing app registration $name ($app_id)"
fi
if [[ -z "$(az ad sp list --filter "appId eq '$app_id'" --query "[0].id" -o tsv)" ]]; then
  az ad sp create --id "$app_id" --output none
fi

for permission in "${permissions[@]}"; do
  role_id="$(az ad sp show --id "$graph_app_id" --query "appRoles[?value=='$permission'].id | [0]" -o tsv)"
  if [[ -z "$role_id" ]]; then
    echo "Microsoft Graph has no application permission $permission" >&2
    exit 1
  fi
  az ad app permission add --id "$app_id" --api "$graph_app_id" --api-permissions "$role_id=Role" --output none
  echo "requested application permission $permission"
done

if [[ "$consent" == true ]]; then
  az ad app permission admin-consent --id "$app_id"
  echo "admin consent granted"
else
  echo "admin consent NOT granted yet: rerun with --consent as an administrator, or use the Entra admin center"
fi

if [[ -n "$vault" ]]; then
  if ! az keyvault certificate show --vault-name "$vault" -n "$cert_name" --output none 2>/dev/null; then
    az keyvault certificate create --vault-name "$vault" -n "$cert_name" \
      -p "$(az keyvault certificate get-default-policy)" --output none
    echo "created certificate $cert_name in $vault"
  fi
  cer="$(mktemp)"
  trap 'rm -f "$cer"' EXIT
  rm -f "$cer"
  az keyvault certificate download --vault-name "$vault" -n "$cert_name" -f "$cer" -e PEM
  az ad app credential reset --id "$app_id" --cert "@$cer" --append --output none
  echo "added the public certificate of $vault/$cert_name to the app registration"
fi

tenant_id="$(az account show --query tenantId -o tsv)"
echo
echo "GRAPH_TENANT_ID=$tenant_id"
echo "GRAPH_CLIENT_ID=$app_id"
echo "next: azd env set GRAPH_CLIENT_ID $app_id   (and graphTenantId if it is not the subscription's tenant)"
