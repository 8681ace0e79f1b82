// The user-assigned managed identity the Function App runs as. Every data-plane grant (roles.bicep) goes to
// this identity; it gets no management-plane role.

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
