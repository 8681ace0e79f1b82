// A user-assigned managed identity of the Function App. main.bicep makes two: the backup identity (storage,
// Key Vault, telemetry: AZURE_CLIENT_ID) and the purge identity (PURGE_CLIENT_ID), the only one that may
// delete backed-up data. Their data-plane grants are in roles.bicep; neither gets a management-plane role.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Managed identity name.')
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
