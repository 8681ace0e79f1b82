// Backup storage account: the WORM store of backed-up content (blob container) and the state tables
// (delta links, catalog, runs, restore points). Nothing else lives here, so the account-wide default
// immutability policy applies to backup content only (tables are not subject to blob immutability).
//
// Write-once is enforced twice: the app never overwrites or deletes (content-addressed names), and this
// account enforces it with version-level immutability (WORM):
// - account-level version-level immutability support (can only be enabled when the account is created),
//   with a default time-based retention policy that every blob version inherits from its creation;
// - per-blob policies on top, set and extended by the app (backup identity, roles.bicep) so that a blob an old
//   and a new restore point share (deduplicated content) stays immutable for the NEW point's window too
//   (core/lifecycle/protection.py); immutabilityRetentionDays is also that window (IMMUTABILITY_DAYS);
// - the backup container has version-level immutability enabled;
// - the policy is Unlocked by default (the retention can still be shortened or the policy disabled while
//   testing); set lockImmutabilityPolicy=true on a LATER deployment to lock it. ARM only creates the policy
//   Unlocked or Disabled, and Locked is irreversible: the retention can then only be extended, and neither
//   the versions nor the account can be deleted until every version's retention has expired.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Replication of the backup account. Geo-redundant by default: this is the copy of last resort.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_GRS'

@description('Container that holds backed-up content (BACKUP_CONTAINER).')
param containerName string

@description('Prefix of the state tables (BACKUP_TABLE_PREFIX).')
param tablePrefix string

@description('Days every blob version stays immutable after it is written (time-based retention).')
@minValue(1)
@maxValue(146000)
param immutabilityRetentionDays int

@description('Lock the time-based retention policy. IRREVERSIBLE. Deploy unlocked first, then lock.')
param lockImmutabilityPolicy bool

@description('Days a deleted blob (or blob version) can be undeleted.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int

@description('Days a deleted container can be undeleted.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int

@description('Days after it is written that content moves to the cool tier.')
@minValue(1)
param coolAfterDays int

@description('Days after it is written that content moves to the cold tier (greater than coolAfterDays).')
@minValue(1)
param coldAfterDays int

@description('Enabled: reachable over the internet (still identity-only). Disabled: private endpoints only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

// The tables core/ uses, named `{BACKUP_TABLE_PREFIX}{suffix}` (core also creates them if missing).
var tableSuffixes = [
  'deltastate'
  'catalog'
  'runs'
  'restorepoints'
  'restorejobs'
  'audit'
  'quarantine'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_59:Public network access is the publicNetworkAccess parameter (Enabled by default for deployments without a virtual network; Disabled with enablePrivateEndpoints=true). Access is Entra ID only either way.
  //checkov:skip=CKV_AZURE_35:Default action is Deny when publicNetworkAccess=Disabled (private endpoints); otherwise the Flex app, which is not a trusted service, reaches it publicly with Entra ID only (shared keys are off).
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    allowedCopyScope: 'AAD'
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
    immutableStorageWithVersioning: {
      enabled: true
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: immutabilityRetentionDays
        state: lockImmutabilityPolicy ? 'Locked' : 'Unlocked'
        allowProtectedAppendWrites: false
      }
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
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: containerSoftDeleteDays
    }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

// Cool after N days, cold after M days. Changing the access tier is allowed on immutable versions.
// No archive tier (a restore would wait hours for rehydration) and no delete action (retention is WORM).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'tier-backup-content'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: coolAfterDays
                }
                tierToCold: {
                  daysAfterModificationGreaterThan: coldAfterDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for suffix in tableSuffixes: {
    parent: tableService
    name: '${tablePrefix}${suffix}'
  }
]

output id string = account.id
output name string = account.name
output containerId string = backupContainer.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
