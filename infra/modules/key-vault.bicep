// Key Vault for the Graph app registration's credential (a certificate, preferred, or a client secret).
// RBAC authorization only (no access policies), purge protection on. The Function App reads the credential
// through a Key Vault reference resolved with its user-assigned identity (Key Vault Secrets User, roles.bicep).
// The deployment creates no secret: an administrator imports the certificate (see docs/deploy.md).

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Key Vault name (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Enabled: reachable over the internet (still Entra ID + RBAC only). Disabled: private endpoint only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109:The firewall denies by default when publicNetworkAccess=Disabled (with private endpoints); without a virtual network the app resolves its Key Vault reference over the public endpoint, Entra ID + RBAC only.
  //checkov:skip=CKV_AZURE_189:Public access is the publicNetworkAccess parameter; Disabled needs enablePrivateEndpoints=true (docs/deploy.md).
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
