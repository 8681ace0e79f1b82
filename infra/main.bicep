// Microsoft 365 backup: the whole deployment, in one resource group.
//   azd up                                  (azure.yaml; parameters from main.parameters.json)
//   az deployment group create -g <rg> -f infra/main.bicep -p graphClientId=<app id> environmentName=<name>
// What it creates, the cost drivers and the operations (lock, rotate, tear down): docs/deploy.md.
//
// Settings contract: the Function App's app settings are exactly core/config.py's deployed settings plus the
// Functions host's own (tests/infra/test_app_settings.py fails when either side adds one the other lacks).
// Parameters whose names mirror a core setting keep core's default (tested too).

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- deployment
@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name and the azd-env-name tag.')
param environmentName string

@description('Azure region of every resource (must offer the Flex Consumption plan).')
param location string = resourceGroup().location

@description('Object id of the user or service principal deploying (azd: AZURE_PRINCIPAL_ID). When set, it may put the Graph credential into Key Vault. Empty: no grant.')
param deployerPrincipalId string = ''

// ---------------------------------------------------------------- Microsoft Graph (core: GRAPH_*)
@description('GRAPH_TENANT_ID: the Entra ID tenant whose Microsoft 365 data is backed up. Default: this subscription\'s tenant.')
param graphTenantId string = tenant().tenantId

@minLength(1)
@description('GRAPH_CLIENT_ID: application (client) id of the Graph app registration (docs/deploy.md).')
param graphClientId string

@description('Which Graph credential the app reads from Key Vault: certificate (preferred) or secret. The other setting is left empty.')
@allowed([
  'certificate'
  'secret'
])
param graphCredentialType string = 'certificate'

@description('Key Vault certificate name of the Graph app certificate (graphCredentialType=certificate).')
param graphCertificateName string = 'graph-app-certificate'

@description('Key Vault secret name of the Graph app client secret (graphCredentialType=secret).')
param graphSecretName string = 'graph-app-secret'

@description('GRAPH_ENDPOINT. US Gov: https://graph.microsoft.us, DoD: https://dod-graph.microsoft.us, China: https://microsoftgraph.chinacloudapi.cn.')
param graphEndpoint string = 'https://graph.microsoft.com'

@description('GRAPH_AUTHORITY_HOST. US Gov and DoD: https://login.microsoftonline.us, China: https://login.chinacloudapi.cn.')
param graphAuthorityHost string = 'https://login.microsoftonline.com'

@minValue(1)
@description('GRAPH_PAGE_SIZE: items per delta page (Prefer: odata.maxpagesize).')
param graphPageSize int = 100

@minValue(0)
@maxValue(20)
@description('GRAPH_BATCH_REQUESTS: requests per JSON batch a mailbox\'s reads are sent ahead in (0: no batching).')
param graphBatchRequests int = 20

@minValue(1)
@description('GRAPH_MAX_ATTEMPTS: attempts per Graph request on 429/503/504 and transport errors.')
param graphMaxAttempts int = 8

@minValue(1)
@description('GRAPH_TIMEOUT_SECONDS: timeout of one Graph request.')
param graphTimeoutSeconds int = 60

@minValue(1)
@description('GRAPH_MAILBOX_CONCURRENCY: concurrent Graph requests per mailbox (Outlook allows 4).')
param graphMailboxConcurrency int = 4

@minValue(1)
@description('GRAPH_MAILBOX_REQUESTS_PER_10_MIN: Graph requests per mailbox per 10 minutes.')
param graphMailboxRequestsPer10Min int = 10000

@allowed([
  0
  1200
  2400
  3600
  4800
  6000
])
@description('GRAPH_SHAREPOINT_RU_PER_MINUTE: SharePoint/OneDrive resource units per minute of the tenant (by licences: 0-1k 1200, 1k-5k 2400, 5k-15k 3600, 15k-50k 4800, 50k+ 6000); 0: no client budget.')
param graphSharePointRuPerMinute int = 1200

@minValue(1)
@description('GRAPH_SHAREPOINT_RU_SHARES: processes that spend that budget at once (instances running drive work x FUNCTIONS_WORKER_PROCESS_COUNT).')
param graphSharePointRuShares int = 1

// ---------------------------------------------------------------- backup (core: BACKUP_*)
@minLength(3)
@maxLength(63)
@description('BACKUP_CONTAINER: the immutable container of backed-up content.')
param backupContainerName string = 'backup'

@minLength(1)
@maxLength(40)
@description('BACKUP_TABLE_PREFIX: prefix of the state tables (letters and digits, starting with a letter).')
param backupTablePrefix string = 'm365bk'

@description('BACKUP_SCHEDULE: NCRONTAB schedule (six fields, UTC) of the timer-triggered backup.')
param backupSchedule string = '0 0 */4 * * *'

@minValue(1)
@description('BACKUP_BATCH_SIZE: resources per sub-orchestration in the backup fan-out.')
param backupBatchSize int = 50

@minValue(1)
@maxValue(48) // the alert rules look back at most two days (modules/alerts.bicep)
@description('BACKUP_RPO_HOURS: recovery point objective in hours; a resource whose last good backup is older is past its RPO (protection report, alert).')
param backupRpoHours int = 24

@description('VERIFY_SCHEDULE: NCRONTAB schedule (six fields, UTC) of the timer-triggered verification, which reads stored content back against its hashes.')
param verifySchedule string = '0 0 5 * * 0'

@description('RETENTION_POLICIES: restore points each workload keeps, e.g. "default: all=30d, daily=30, weekly=12, monthly=12, yearly=7"; empty keeps every point.')
param retentionPolicies string = ''

@description('RETENTION_OVERRIDES: per-resource retention replacing its workload\'s policy, e.g. "exchange:<user id> = all=3650d"; empty: none.')
param retentionOverrides string = ''

@description('PURGE_SCHEDULE: NCRONTAB schedule (six fields, UTC) of the timer-triggered purge.')
param purgeSchedule string = '0 30 2 * * *'

@minValue(0)
@description('PURGE_GRACE_HOURS: hours between marking a point, version or blob for removal and removing it.')
param purgeGraceHours int = 24

@allowed([
  'zstd'
  'none'
])
@description('CONTENT_COMPRESSION: zstd compresses content before it is encrypted and stored (content stored before stays readable).')
param contentCompression string = 'zstd'

@minValue(1)
@maxValue(100)
@description('VERIFY_SAMPLE_PERCENT: share of the stored blobs each scheduled verification reads back.')
param verifySamplePercent int = 10

@description('BACKUP_WORKLOADS: comma-separated workloads to back up (exchange, onedrive, sharepoint); empty: those on by default (exchange).')
param backupWorkloads string = ''

@description('BACKUP_INCLUDE_USERS: comma-separated user ids or UPNs to back up (mailbox and OneDrive); empty: every user.')
param backupIncludeUsers string = ''

@description('BACKUP_EXCLUDE_USERS: comma-separated user ids or UPNs never to back up.')
param backupExcludeUsers string = ''

@description('BACKUP_INCLUDE_SITES: comma-separated SharePoint site URLs (prefixes) to back up; empty: every site.')
param backupIncludeSites string = ''

@description('BACKUP_EXCLUDE_SITES: comma-separated SharePoint site URLs (prefixes) never to back up.')
param backupExcludeSites string = ''

@description('BACKUP_EXCLUDE_LIBRARIES: comma-separated document library names to skip in every site.')
param backupExcludeLibraries string = ''

@minValue(1)
@description('BACKUP_ITEM_CONCURRENCY: items fetched in parallel within one resource.')
param backupItemConcurrency int = 8

@description('API_AUDIENCE: audiences the restore API accepts (its app registration\'s client id and api:// URI, comma-separated). Empty refuses every /api/v1 call.')
param apiAudience string = ''

// ---------------------------------------------------------------- backup storage (WORM)
@minValue(1)
@maxValue(146000)
@description('IMMUTABILITY_DAYS and the container\'s default retention: days every blob stays immutable after it is written, and after every restore point that references it (per-blob policies, extended by the app). One parameter for both, so the app\'s window is never longer than the default that covers a new blob.')
param immutabilityRetentionDays int = 30

@description('Lock the immutability policy. IRREVERSIBLE: deploy unlocked first, verify, then redeploy with true (docs/deploy.md).')
param lockImmutabilityPolicy bool = false

@description('Replication of the backup account (geo-redundant by default).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param backupStorageSku string = 'Standard_GRS'

@minValue(1)
@maxValue(365)
@description('Blob soft delete (days) on the backup account.')
param blobSoftDeleteDays int = 14

@minValue(1)
@maxValue(365)
@description('Container soft delete (days) on the backup account.')
param containerSoftDeleteDays int = 14

@minValue(1)
@description('Days after it is written that backed-up content moves to the cool tier.')
param coolAfterDays int = 30

@minValue(1)
@description('Days after it is written that backed-up content moves to the cold tier (must exceed coolAfterDays).')
param coldAfterDays int = 90

// ---------------------------------------------------------------- hosting, monitoring, network
@minValue(1)
@maxValue(1000)
@description('Maximum Flex Consumption instances.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory per Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(30)
@maxValue(730)
@description('Log Analytics retention in days.')
param logRetentionDays int = 30

@allowed([
  'Enabled'
  'Disabled'
])
@description('Public network access of both storage accounts and the Key Vault (identity-only either way). Disabled needs enablePrivateEndpoints=true.')
param publicNetworkAccess string = 'Enabled'

@description('Create a virtual network, integrate the Function App with it and reach storage and Key Vault through private endpoints.')
param enablePrivateEndpoints bool = false

@description('Address space of the virtual network (enablePrivateEndpoints=true).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Subnet for the Function App\'s virtual network integration.')
param appSubnetPrefix string = '10.40.1.0/24'

@description('Subnet for the private endpoints.')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

// ---------------------------------------------------------------- alerts (modules/alerts.bicep)
@description('Create the action group and the alert rules (failed or partial run, resource past its RPO, no usable run within the RPO, suspicious restore point, failed verification).')
param enableAlerts bool = true

@description('Comma-separated email addresses the alerts notify; empty: none (the alerts still show in Azure Monitor).')
param alertEmailAddresses string = ''

@secure()
@description('HTTPS URL that receives every alert as a POST in the common alert schema (a Teams or Slack workflow, PagerDuty, ...); empty: none.')
param alertWebhookUrl string = ''

// ---------------------------------------------------------------- names
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'api'
var names = {
  identity: 'id-${resourceToken}'
  purgeIdentity: 'id-purge-${resourceToken}'
  runtimeStorage: 'strt${resourceToken}'
  backupStorage: 'stbk${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  vnet: 'vnet-${resourceToken}'
}
var deploymentContainerName = 'app-package-${resourceToken}'

// ---------------------------------------------------------------- resources
module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    tags: tags
    name: names.identity
  }
}

// The purge's own identity (PURGE_CLIENT_ID): the only one granted delete (roles.bicep).
module purgeIdentity 'modules/identity.bicep' = {
  name: 'purge-identity'
  params: {
    location: location
    tags: tags
    name: names.purgeIdentity
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    retentionInDays: logRetentionDays
  }
}

module alerts 'modules/alerts.bicep' = if (enableAlerts) {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: 'm365backup-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    emailAddresses: empty(alertEmailAddresses) ? [] : split(alertEmailAddresses, ',')
    webhookUrl: alertWebhookUrl
    rpoHours: backupRpoHours
  }
}

module runtimeStorage 'modules/runtime-storage.bicep' = {
  name: 'runtime-storage'
  params: {
    location: location
    tags: tags
    name: names.runtimeStorage
    deploymentContainerName: deploymentContainerName
    publicNetworkAccess: publicNetworkAccess
  }
}

module backupStorage 'modules/backup-storage.bicep' = {
  name: 'backup-storage'
  params: {
    location: location
    tags: tags
    name: names.backupStorage
    skuName: backupStorageSku
    containerName: backupContainerName
    tablePrefix: backupTablePrefix
    immutabilityRetentionDays: immutabilityRetentionDays
    lockImmutabilityPolicy: lockImmutabilityPolicy
    blobSoftDeleteDays: blobSoftDeleteDays
    containerSoftDeleteDays: containerSoftDeleteDays
    coolAfterDays: coolAfterDays
    coldAfterDays: coldAfterDays
    publicNetworkAccess: publicNetworkAccess
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    location: location
    tags: tags
    name: names.keyVault
    publicNetworkAccess: publicNetworkAccess
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    purgePrincipalId: purgeIdentity.outputs.principalId
    runtimeStorageName: runtimeStorage.outputs.name
    backupStorageName: backupStorage.outputs.name
    backupContainerName: backupContainerName
    backupTablePrefix: backupTablePrefix
    keyVaultName: keyVault.outputs.name
    contentKeyName: keyVault.outputs.contentKeyName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module deployerAccess 'modules/deployer-access.bicep' = if (!empty(deployerPrincipalId)) {
  name: 'deployer-access'
  params: {
    principalId: deployerPrincipalId
    keyVaultName: keyVault.outputs.name
    graphCredentialType: graphCredentialType
  }
}

module network 'modules/network.bicep' = if (enablePrivateEndpoints) {
  name: 'network'
  params: {
    location: location
    tags: tags
    name: names.vnet
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
  }
}

// One private endpoint per sub-resource the app reaches. Targets are named (not module outputs) so the
// loop is known when the deployment starts; dependsOn orders them after the accounts and the vault.
var privateEndpoints = [
  {
    account: names.runtimeStorage
    type: 'Microsoft.Storage/storageAccounts'
    group: 'blob'
  }
  {
    account: names.runtimeStorage
    type: 'Microsoft.Storage/storageAccounts'
    group: 'queue'
  }
  {
    account: names.runtimeStorage
    type: 'Microsoft.Storage/storageAccounts'
    group: 'table'
  }
  {
    account: names.backupStorage
    type: 'Microsoft.Storage/storageAccounts'
    group: 'blob'
  }
  {
    account: names.backupStorage
    type: 'Microsoft.Storage/storageAccounts'
    group: 'table'
  }
  {
    account: names.keyVault
    type: 'Microsoft.KeyVault/vaults'
    group: 'vault'
  }
]

module endpoints 'modules/private-endpoint.bicep' = [
  for pe in privateEndpoints: if (enablePrivateEndpoints) {
    name: 'pe-${pe.account}-${pe.group}'
    params: {
      location: location
      tags: tags
      name: 'pe-${pe.account}-${pe.group}'
      subnetId: network.outputs.privateEndpointSubnetId
      targetId: resourceId(pe.type, pe.account)
      groupId: pe.group
      dnsZoneId: network.outputs.zoneIds[pe.group]
    }
    dependsOn: [
      runtimeStorage
      backupStorage
      keyVault
    ]
  }
]

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    tags: tags
    serviceName: serviceName
    planName: names.plan
    name: names.functionApp
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    purgeIdentityId: purgeIdentity.outputs.id
    purgeIdentityClientId: purgeIdentity.outputs.clientId
    runtimeBlobEndpoint: runtimeStorage.outputs.blobEndpoint
    runtimeQueueEndpoint: runtimeStorage.outputs.queueEndpoint
    runtimeTableEndpoint: runtimeStorage.outputs.tableEndpoint
    deploymentContainerUrl: runtimeStorage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    virtualNetworkSubnetId: enablePrivateEndpoints ? network.outputs.appSubnetId : ''
    keyVaultName: keyVault.outputs.name
    graphCredentialType: graphCredentialType
    graphCertificateName: graphCertificateName
    graphSecretName: graphSecretName
    graphTenantId: graphTenantId
    graphClientId: graphClientId
    graphEndpoint: graphEndpoint
    graphAuthorityHost: graphAuthorityHost
    graphPageSize: graphPageSize
    graphMaxAttempts: graphMaxAttempts
    graphTimeoutSeconds: graphTimeoutSeconds
    graphBatchRequests: graphBatchRequests
    graphMailboxConcurrency: graphMailboxConcurrency
    graphMailboxRequestsPer10Min: graphMailboxRequestsPer10Min
    graphSharePointRuPerMinute: graphSharePointRuPerMinute
    graphSharePointRuShares: graphSharePointRuShares
    backupBlobEndpoint: backupStorage.outputs.blobEndpoint
    backupTableEndpoint: backupStorage.outputs.tableEndpoint
    backupContainerName: backupContainerName
    backupTablePrefix: backupTablePrefix
    backupSchedule: backupSchedule
    backupBatchSize: backupBatchSize
    backupRpoHours: backupRpoHours
    verifySchedule: verifySchedule
    verifySamplePercent: verifySamplePercent
    retentionPolicies: retentionPolicies
    retentionOverrides: retentionOverrides
    purgeSchedule: purgeSchedule
    purgeGraceHours: purgeGraceHours
    immutabilityRetentionDays: immutabilityRetentionDays
    lockImmutabilityPolicy: lockImmutabilityPolicy
    contentCompression: contentCompression
    contentKeyUri: keyVault.outputs.contentKeyUri
    backupWorkloads: backupWorkloads
    backupItemConcurrency: backupItemConcurrency
    apiAudience: apiAudience
    backupIncludeUsers: backupIncludeUsers
    backupExcludeUsers: backupExcludeUsers
    backupIncludeSites: backupIncludeSites
    backupExcludeSites: backupExcludeSites
    backupExcludeLibraries: backupExcludeLibraries
  }
  // The app starts with its roles in place (host storage, Key Vault reference, telemetry), and with its
  // private endpoints when storage is private.
  dependsOn: [
    roles
    endpoints
  ]
}

// ---------------------------------------------------------------- outputs (azd stores them in .azure/<env>/.env)
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output PURGE_CLIENT_ID string = purgeIdentity.outputs.clientId
output CONTENT_KEY_URL string = keyVault.outputs.contentKeyUri
output BACKUP_STORAGE_ACCOUNT_NAME string = backupStorage.outputs.name
output RUNTIME_STORAGE_ACCOUNT_NAME string = runtimeStorage.outputs.name
output BACKUP_STORAGE_BLOB_ENDPOINT string = backupStorage.outputs.blobEndpoint
output BACKUP_STORAGE_TABLE_ENDPOINT string = backupStorage.outputs.tableEndpoint
output GRAPH_CREDENTIAL_TYPE string = graphCredentialType
output GRAPH_CREDENTIAL_NAME string = graphCredentialType == 'certificate' ? graphCertificateName : graphSecretName
