// Role assignments of the Function App's user-assigned identity: data-plane roles only, each on the
// narrowest scope that works. No management-plane role (Contributor, Storage Account Contributor, Key Vault
// Contributor, ...) is granted: the identity can neither list keys, nor change an account's settings, nor
// touch the immutability policy.
// Each assignment is named guid(scope, principal, role), so a redeployment updates in place.

@description('Principal (object) id of the user-assigned identity.')
param principalId string

@description('Runtime storage account name (AzureWebJobsStorage, Durable task hub, deployment package).')
param runtimeStorageName string

@description('Backup storage account name.')
param backupStorageName string

@description('Backup container name (BACKUP_CONTAINER).')
param backupContainerName string

@description('Key Vault name holding the Graph credential.')
param keyVaultName string

@description('Application Insights component name.')
param applicationInsightsName string

// Built-in role definition ids (the same in every Azure cloud).
var roles = {
  // Storage Blob Data Owner: what the Functions host documents for an identity-based AzureWebJobsStorage
  // (host keys, singleton/timer leases), the Durable task hub's blobs (leases, large messages) and the
  // Flex Consumption deployment-package container. Scope: the runtime account only.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor: the Durable task hub's control and work-item queues. Runtime account.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor: the Durable task hub's History and Instances tables (runtime account),
  // and core's state tables {prefix}deltastate/catalog/runs/restorepoints (backup account; core may create
  // them, so the scope is the account, not a single table).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Storage Blob Data Contributor: write (create-only) and read backed-up content. Scope: the backup
  // container only. Its delete permission cannot remove immutable versions; the app never deletes.
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Key Vault Secrets User: read the Graph certificate/secret through the Key Vault reference. Scope: the vault.
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Monitoring Metrics Publisher: send telemetry to Application Insights with Entra ID authentication
  // (local, key-based ingestion is disabled). Scope: the Application Insights component.
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource runtimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: runtimeStorageName
}

resource backupStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: backupStorageName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource container 'containers' existing = {
      name: backupContainerName
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource runtimeBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(runtimeStorage.id, principalId, roles.storageBlobDataOwner)
  scope: runtimeStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource runtimeQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(runtimeStorage.id, principalId, roles.storageQueueDataContributor)
  scope: runtimeStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource runtimeTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(runtimeStorage.id, principalId, roles.storageTableDataContributor)
  scope: runtimeStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource backupBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage::blobService::container.id, principalId, roles.storageBlobDataContributor)
  scope: backupStorage::blobService::container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource backupTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage.id, principalId, roles.storageTableDataContributor)
  scope: backupStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}
