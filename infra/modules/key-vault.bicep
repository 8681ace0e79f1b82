// Key Vault for the Graph app registration's credential (a certificate, preferred, or a client secret) and the
// customer's key that wraps content data keys (CONTENT_ENCRYPTION=keyvault).
// RBAC authorization only (no access policies), purge protection on. The Function App reads the credential
// through a Key Vault reference resolved with its user-assigned identity (Key Vault Secrets User, roles.bicep).
// The deployment creates no secret: an administrator imports the certificate (see docs/deploy.md).
//
// The content key: RSA 3072, wrapKey/unwrapKey only ("The WRAP operation ... requires the keys/wrapKey
// permission", https://learn.microsoft.com/rest/api/keyvault/keys/wrap-key/wrap-key), rotated by Key Vault's
// rotation policy (a new version; the app wraps new data keys with the newest and unwraps old ones with the
// version named beside them, so content is never re-encrypted). ARM creates only the key's first version and
// leaves an existing key as it is on a redeployment ("Creates the first version of a new key if it does not
// exist. If it already exists, then the existing key is returned without any write operations being
// performed", https://learn.microsoft.com/rest/api/keyvault/keyvault/keys/create-if-not-exist).
// The app's identity gets "Key Vault Crypto Service Encryption User" on this key only (roles.bicep).
// Each version expires (checkov CKV_AZURE_40), which stops new wraps but not unwraps: "Not-yet-valid and expired
// keys, outside the nbf / exp window, will work for decrypt, unwrap, and verify operations"
// (https://learn.microsoft.com/azure/key-vault/keys/about-keys-details), so old content stays readable.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Key Vault name (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Name of the RSA key that wraps content data keys (CONTENT_KEY_URL names it, versionless).')
param contentKeyName string = 'content-key'

@description('Size of the content key in bits.')
@allowed([
  3072
  4096
])
param contentKeySize int = 3072

@description('ISO 8601 duration after which Key Vault rotates the content key (a new version).')
param contentKeyRotateAfter string = 'P1Y'

@description('ISO 8601 duration each content key version is valid for (longer than the rotation period).')
param contentKeyExpiresAfter string = 'P2Y'

@description('Expiry of the first key version, in seconds since 1970 (later versions: contentKeyExpiresAfter from their creation).')
param contentKeyFirstExpiry int = dateTimeToEpoch(dateTimeAdd(utcNow(), 'P2Y'))

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

resource contentKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  //checkov:skip=CKV_AZURE_112:An HSM-backed key needs the Premium vault; the standard vault's software-protected RSA key wraps data keys only, never leaves Key Vault, and is rotated by policy.
  parent: vault
  name: contentKeyName
  properties: {
    kty: 'RSA'
    keySize: contentKeySize
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
      exportable: false
      exp: contentKeyFirstExpiry
    }
    rotationPolicy: {
      attributes: {
        expiryTime: contentKeyExpiresAfter
      }
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: contentKeyRotateAfter
          }
          action: {
            type: 'rotate'
          }
        }
        {
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
          action: {
            type: 'notify'
          }
        }
      ]
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
output contentKeyName string = contentKey.name
// Versionless: the app wraps with the newest version and finds older ones by the version kept with each data key.
output contentKeyUri string = contentKey.properties.keyUri
