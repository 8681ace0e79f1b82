// One private endpoint for one sub-resource (blob, queue, table or vault) registered in its private DNS zone.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Private endpoint name.')
param name string

@description('Subnet of the private endpoint.')
param subnetId string

@description('Resource id of the storage account or Key Vault.')
param targetId string

@description('Sub-resource: blob, queue, table or vault.')
param groupId string

@description('Resource id of the private DNS zone for that sub-resource.')
param dnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }

  resource dnsGroup 'privateDnsZoneGroups' = {
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: groupId
          properties: {
            privateDnsZoneId: dnsZoneId
          }
        }
      ]
    }
  }
}
