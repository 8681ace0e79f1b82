// Optional: lets the person (or pipeline) running the deployment put the Graph credential into the vault.
// This is a human/operator grant, not one of the app's: the Function App's identity only reads (roles.bicep).
// Remove the assignment after the credential is in place if your policy wants no standing access.

@description('Object id of the deploying user or service principal (azd sets AZURE_PRINCIPAL_ID).')
param principalId string

@description('Key Vault name holding the Graph credential.')
param keyVaultName string

@description('certificate: import a certificate. secret: set a client secret.')
@allowed([
  'certificate'
  'secret'
])
param graphCredentialType string

// Key Vault Certificates Officer: import/rotate the Graph app's certificate (creates its backing secret).
var keyVaultCertificatesOfficer = 'a4417e6f-fecd-4de8-b567-7b0420556985'
// Key Vault Secrets Officer: set/rotate the Graph app's client secret.
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

var roleId = graphCredentialType == 'certificate' ? keyVaultCertificatesOfficer : keyVaultSecretsOfficer

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource credentialOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roleId)
  scope: vault
  properties: {
    principalId: principalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}
