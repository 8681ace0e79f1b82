// The Function App on the Flex Consumption plan (Linux, Python 3.11), running as the user-assigned identity.
// Flex Consumption sets the runtime in functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION must NOT be app settings (Flex rejects them), nor WEBSITE_RUN_FROM_PACKAGE /
// WEBSITE_CONTENT* (the package comes from the deployment container, there is no content file share).
//
// App settings are of two kinds (tests/infra checks both):
// - the Functions host's own: AzureWebJobsStorage__* (identity-based host and Durable task hub storage) and
//   APPLICATIONINSIGHTS_* (telemetry with Entra ID auth);
// - exactly the settings core/config.py declares with deployed=True, nothing more, nothing less.

@description('Azure region.')
param location string

@description('Tags for every resource (azd-service-name is added here).')
param tags object

@description('azd service name (azure.yaml) that azd deploys to this app.')
param serviceName string

@description('Flex Consumption plan name.')
param planName string

@description('Function App name.')
param name string

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Resource id of the purge\'s user-assigned identity (the only one that may delete).')
param purgeIdentityId string

@description('Client id of the purge\'s user-assigned identity (PURGE_CLIENT_ID).')
param purgeIdentityClientId string

@description('Versionless URI of the Key Vault key that wraps content data keys (CONTENT_KEY_URL).')
param contentKeyUri string

@description('Runtime storage blob endpoint (https://<account>.blob.<suffix>/).')
param runtimeBlobEndpoint string

@description('Runtime storage queue endpoint.')
param runtimeQueueEndpoint string

@description('Runtime storage table endpoint.')
param runtimeTableEndpoint string

@description('URL of the deployment-package container in the runtime account.')
param deploymentContainerUrl string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Maximum number of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Subnet id for outbound virtual network integration; empty: none.')
param virtualNetworkSubnetId string

@description('Key Vault name holding the Graph credential.')
param keyVaultName string

@description('certificate (preferred) or secret: which Graph credential the app reads from Key Vault.')
@allowed([
  'certificate'
  'secret'
])
param graphCredentialType string

@description('Name of the Key Vault certificate holding the Graph app certificate.')
param graphCertificateName string

@description('Name of the Key Vault secret holding the Graph app client secret.')
param graphSecretName string

// Values of core/config.py settings (see main.bicep for their descriptions and defaults).
param graphTenantId string
param graphClientId string
param graphEndpoint string
param graphAuthorityHost string
param graphPageSize int
param graphMaxAttempts int
param graphTimeoutSeconds int
param graphBatchRequests int
param graphMailboxConcurrency int
param graphMailboxRequestsPer10Min int
param graphSharePointRuPerMinute int
param graphSharePointRuShares int
param backupBlobEndpoint string
param backupTableEndpoint string
param backupContainerName string
param backupTablePrefix string
param backupSchedule string
param backupBatchSize int
param backupRpoHours int
param verifySchedule string
param verifySamplePercent int
param retentionPolicies string
param retentionOverrides string
param purgeSchedule string
param purgeGraceHours int
param immutabilityRetentionDays int
param lockImmutabilityPolicy bool
param contentCompression string
param backupWorkloads string
param backupItemConcurrency int
param apiAudience string
param backupIncludeUsers string
param backupExcludeUsers string
param backupIncludeSites string
param backupExcludeSites string
param backupExcludeLibraries string

// A Key Vault certificate is readable as a secret of the same name (base64 PKCS#12, which core accepts).
var certificateReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${graphCertificateName})'
var secretReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${graphSecretName})'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy exists only in some regions; a scheduled backup survives a zone outage by resuming on the next run (delta links are saved only after content is stored).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222:The restore/status HTTP API must be reachable by operators; it needs function keys, and storage and Key Vault stay identity-only.
  //checkov:skip=CKV_AZURE_17:Callers authenticate with function keys (or Entra ID via App Service auth); client certificates are not part of the API.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero per trigger; failover instances would only add cost to a scheduled batch job.
  //checkov:skip=CKV_AZURE_213:Flex Consumption does not support the App Service health check; the platform restarts failed instances and Durable retries the work.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${purgeIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      appSettings: [
        // Functions host: identity-based runtime storage (host + Durable task hub), Entra ID telemetry.
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: runtimeBlobEndpoint
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: runtimeQueueEndpoint
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: runtimeTableEndpoint
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        // core/config.py settings (deployed=True).
        {
          name: 'GRAPH_TENANT_ID'
          value: graphTenantId
        }
        {
          name: 'GRAPH_CLIENT_ID'
          value: graphClientId
        }
        {
          name: 'GRAPH_CLIENT_CERTIFICATE'
          value: graphCredentialType == 'certificate' ? certificateReference : ''
        }
        {
          name: 'GRAPH_CLIENT_SECRET'
          value: graphCredentialType == 'secret' ? secretReference : ''
        }
        {
          name: 'GRAPH_ENDPOINT'
          value: graphEndpoint
        }
        {
          name: 'GRAPH_AUTHORITY_HOST'
          value: graphAuthorityHost
        }
        {
          name: 'GRAPH_PAGE_SIZE'
          value: string(graphPageSize)
        }
        {
          name: 'GRAPH_MAX_ATTEMPTS'
          value: string(graphMaxAttempts)
        }
        {
          name: 'GRAPH_TIMEOUT_SECONDS'
          value: string(graphTimeoutSeconds)
        }
        {
          name: 'GRAPH_BATCH_REQUESTS'
          value: string(graphBatchRequests)
        }
        {
          name: 'GRAPH_MAILBOX_CONCURRENCY'
          value: string(graphMailboxConcurrency)
        }
        {
          name: 'GRAPH_MAILBOX_REQUESTS_PER_10_MIN'
          value: string(graphMailboxRequestsPer10Min)
        }
        {
          name: 'GRAPH_SHAREPOINT_RU_PER_MINUTE'
          value: string(graphSharePointRuPerMinute)
        }
        {
          name: 'GRAPH_SHAREPOINT_RU_SHARES'
          value: string(graphSharePointRuShares)
        }
        {
          name: 'BACKUP_STORAGE_BLOB_ENDPOINT'
          value: backupBlobEndpoint
        }
        {
          name: 'BACKUP_STORAGE_TABLE_ENDPOINT'
          value: backupTableEndpoint
        }
        {
          name: 'BACKUP_CONTAINER'
          value: backupContainerName
        }
        {
          name: 'BACKUP_TABLE_PREFIX'
          value: backupTablePrefix
        }
        {
          name: 'BACKUP_SCHEDULE'
          value: backupSchedule
        }
        {
          name: 'BACKUP_BATCH_SIZE'
          value: string(backupBatchSize)
        }
        {
          name: 'BACKUP_RPO_HOURS'
          value: string(backupRpoHours)
        }
        {
          name: 'VERIFY_SCHEDULE'
          value: verifySchedule
        }
        {
          name: 'VERIFY_SAMPLE_PERCENT'
          value: string(verifySamplePercent)
        }
        {
          name: 'RETENTION_POLICIES'
          value: retentionPolicies
        }
        {
          name: 'RETENTION_OVERRIDES'
          value: retentionOverrides
        }
        {
          name: 'PURGE_SCHEDULE'
          value: purgeSchedule
        }
        {
          name: 'PURGE_GRACE_HOURS'
          value: string(purgeGraceHours)
        }
        {
          name: 'PURGE_CLIENT_ID'
          value: purgeIdentityClientId
        }
        {
          // the window after each point: the container's default retention, from the same parameter
          name: 'IMMUTABILITY_DAYS'
          value: string(immutabilityRetentionDays)
        }
        {
          // locked with the container's default: the per-blob policies the app extends are locked too
          name: 'IMMUTABILITY_LOCKED'
          value: lockImmutabilityPolicy ? 'true' : 'false'
        }
        {
          name: 'CONTENT_COMPRESSION'
          value: contentCompression
        }
        {
          // deployed content is always encrypted client-side under the customer's key (key-vault.bicep)
          name: 'CONTENT_ENCRYPTION'
          value: 'keyvault'
        }
        {
          name: 'CONTENT_KEY_URL'
          value: contentKeyUri
        }
        {
          name: 'BACKUP_WORKLOADS'
          value: backupWorkloads
        }
        {
          name: 'BACKUP_ITEM_CONCURRENCY'
          value: string(backupItemConcurrency)
        }
        {
          name: 'BACKUP_INCLUDE_USERS'
          value: backupIncludeUsers
        }
        {
          name: 'BACKUP_EXCLUDE_USERS'
          value: backupExcludeUsers
        }
        {
          name: 'BACKUP_INCLUDE_SITES'
          value: backupIncludeSites
        }
        {
          name: 'BACKUP_EXCLUDE_SITES'
          value: backupExcludeSites
        }
        {
          name: 'BACKUP_EXCLUDE_LIBRARIES'
          value: backupExcludeLibraries
        }
        {
          name: 'API_AUDIENCE'
          value: apiAudience
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
      ]
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No FTP and no basic-auth (publishing credential) deployments: azd and `az functionapp deployment`
// deploy with an Entra ID token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
