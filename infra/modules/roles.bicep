// Role assignments of the Function App's two user-assigned identities: data-plane roles only, each on the
// narrowest scope that works. No management-plane role (Contributor, Storage Account Contributor, Key Vault
// Contributor, ...) is granted: neither identity can list keys, change an account's settings, or touch the
// container's immutability policy.
// Each assignment is named guid(scope, principal, role), so a redeployment updates in place.
//
// Who may delete (issue 14: "the backup identity cannot delete"):
// - the backup identity (principalId: backup, restore, verify, the API) holds two custom roles WITHOUT any
//   delete: content writer (read, create, write blobs; set per-blob immutability policies, which needs
//   blobs/immutableStorage/runAsSuperUser/action, "Set Immutability Policy" in
//   https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory) and state
//   writer (read, insert, update table entities; no tables/entities/delete, no tables/delete);
// - the purge identity (purgePrincipalId, PURGE_CLIENT_ID: purge and erasure) is the only one that may delete:
//   content remover (read, write, delete blobs and blob versions; NOT runAsSuperUser, so it can neither
//   shorten nor remove a policy: "Delete Immutability Policy" needs the same action) and Storage Table Data
//   Contributor on exactly the tables it deletes rows from (catalog, restorepoints, runs, and for an erasure
//   deltastate and quarantine), the state writer role on the account for the rest. Never the audit table.
// Neither identity alone can remove protected content: one may extend (or, while unlocked, shorten) a policy
// but not delete, the other may delete but not change a policy. Custom roles are assignable in this resource
// group only; deploying them needs Microsoft.Authorization/roleDefinitions/write (Owner or User Access
// Administrator, as the role assignments already do).

@description('Principal (object) id of the backup identity (the app\'s storage identity: AZURE_CLIENT_ID).')
param principalId string

@description('Principal (object) id of the purge identity (PURGE_CLIENT_ID), the only one that may delete.')
param purgePrincipalId string

@description('Runtime storage account name (AzureWebJobsStorage, Durable task hub, deployment package).')
param runtimeStorageName string

@description('Backup storage account name.')
param backupStorageName string

@description('Backup container name (BACKUP_CONTAINER).')
param backupContainerName string

@description('Prefix of the state tables (BACKUP_TABLE_PREFIX): the purge may delete rows of some of them.')
param backupTablePrefix string

@description('Name of the Key Vault key that wraps content data keys (CONTENT_KEY_URL).')
param contentKeyName string

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
  // and, for the purge identity only, the backup tables it deletes rows from (one assignment per table).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Key Vault Crypto Service Encryption User: read the content key, wrap and unwrap data keys with it
  // (keys/read, keys/wrap/action, keys/unwrap/action). Scope: the content key only.
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6'
  // Key Vault Secrets User: read the Graph certificate/secret through the Key Vault reference. Scope: the vault.
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Monitoring Metrics Publisher: send telemetry to Application Insights with Entra ID authentication
  // (local, key-based ingestion is disabled). Scope: the Application Insights component.
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Tables whose rows the purge (and an erasure) removes; every other table is insert/update only for both.
var purgeDeleteTables = [
  'catalog'
  'restorepoints'
  'runs'
  'deltastate'
  'quarantine'
]

var blobData = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs'
var tableData = 'Microsoft.Storage/storageAccounts/tableServices/tables'

// Custom roles: the names carry a hash of the resource group, since a role name is unique in the tenant.
resource contentWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'm365-backup-content-writer')
  properties: {
    roleName: 'M365 Backup content writer ${uniqueString(resourceGroup().id)}'
    description: 'Read and create backed-up content and extend its immutability policies. No delete of any kind.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/read'
        ]
        notActions: []
        dataActions: [
          '${blobData}/read'
          '${blobData}/write'
          '${blobData}/add/action'
          '${blobData}/immutableStorage/runAsSuperUser/action'
        ]
        notDataActions: []
      }
    ]
  }
}

resource contentRemoverRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'm365-backup-content-remover')
  properties: {
    roleName: 'M365 Backup content remover ${uniqueString(resourceGroup().id)}'
    description: 'Read, write and delete backed-up content and its versions once unprotected. Cannot change an immutability policy.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/read'
        ]
        notActions: []
        dataActions: [
          '${blobData}/read'
          '${blobData}/write'
          '${blobData}/add/action'
          '${blobData}/delete'
          '${blobData}/deleteBlobVersion/action'
        ]
        notDataActions: []
      }
    ]
  }
}

resource stateWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'm365-backup-state-writer')
  properties: {
    roleName: 'M365 Backup state writer ${uniqueString(resourceGroup().id)}'
    description: 'Create the state tables, read, insert and update their rows. No row or table delete.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/tableServices/tables/read'
          'Microsoft.Storage/storageAccounts/tableServices/tables/write'
        ]
        notActions: []
        dataActions: [
          '${tableData}/entities/read'
          '${tableData}/entities/write'
          '${tableData}/entities/add/action'
          '${tableData}/entities/update/action'
        ]
        notDataActions: []
      }
    ]
  }
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

  resource tableService 'tableServices' existing = {
    name: 'default'
  }
}

resource purgeTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = [
  for suffix in purgeDeleteTables: {
    parent: backupStorage::tableService
    name: '${backupTablePrefix}${suffix}'
  }
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName

  resource contentKey 'keys' existing = {
    name: contentKeyName
  }
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

// ---- backup identity on the backup account: no delete
resource backupContentWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage::blobService::container.id, principalId, contentWriterRole.name)
  scope: backupStorage::blobService::container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contentWriterRole.name)
  }
}

resource backupStateWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage.id, principalId, stateWriterRole.name)
  scope: backupStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', stateWriterRole.name)
  }
}

resource contentKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::contentKey.id, principalId, roles.keyVaultCryptoServiceEncryptionUser)
  scope: vault::contentKey
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoServiceEncryptionUser)
  }
}

// ---- purge identity: the only one that deletes
resource purgeContentRemover 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage::blobService::container.id, purgePrincipalId, contentRemoverRole.name)
  scope: backupStorage::blobService::container
  properties: {
    principalId: purgePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contentRemoverRole.name)
  }
}

resource purgeStateWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupStorage.id, purgePrincipalId, stateWriterRole.name)
  scope: backupStorage
  properties: {
    principalId: purgePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', stateWriterRole.name)
  }
}

resource purgeTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (suffix, i) in purgeDeleteTables: {
    name: guid(purgeTables[i].id, purgePrincipalId, roles.storageTableDataContributor)
    scope: purgeTables[i]
    properties: {
      principalId: purgePrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    }
  }
]

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
