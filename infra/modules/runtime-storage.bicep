// Runtime storage account of the Functions host: AzureWebJobsStorage (host locks, timer schedule state,
// function keys), the Durable Functions task hub (control/work-item queues, history and instance tables,
// large-message blobs) and the Flex Consumption deployment-package container.
// Identity-only: shared key access is off, so no connection string or key exists anywhere.
// It holds no backed-up content; that lives in the separate backup account (backup-storage.bicep).

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Blob container the Flex Consumption plan deploys the app package from.')
param deploymentContainerName string

@description('Enabled: reachable over the internet (still identity-only). Disabled: private endpoints only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

// CKV_AZURE_206: Durable task hub state and host locks are transient working state that the service
// rebuilds (a failed orchestration is rerun by the next schedule); backed-up content is not here.
// Locally redundant storage is the cost-appropriate choice; the backup account is geo-redundant.
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_59:Public network access is the publicNetworkAccess parameter (Enabled by default for deployments without a virtual network; Disabled with enablePrivateEndpoints=true). Access is Entra ID only either way.
  //checkov:skip=CKV_AZURE_35:Default action is Deny when publicNetworkAccess=Disabled (private endpoints); otherwise the Flex app, which is not a trusted service, reaches it publicly with Entra ID only (shared keys are off).
  //checkov:skip=CKV_AZURE_206:Transient host and Durable state only; geo-redundancy is on the backup account.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'
