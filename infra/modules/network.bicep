// Optional private networking (enablePrivateEndpoints=true): a virtual network with a subnet the Flex
// Consumption app integrates with (outbound traffic) and a subnet for private endpoints, plus the private DNS
// zones that make the storage and Key Vault host names resolve to those endpoints from inside the network.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Virtual network name.')
param name string

@description('Address space of the virtual network.')
param addressPrefix string

@description('Subnet the Function App integrates with (delegated to Microsoft.App/environments).')
param appSubnetPrefix string

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string

// privatelink zones for this cloud (the suffixes differ in national clouds).
var storageSuffix = environment().suffixes.storage
var zones = [
  {
    key: 'blob'
    name: 'privatelink.blob.${storageSuffix}'
  }
  {
    key: 'queue'
    name: 'privatelink.queue.${storageSuffix}'
  }
  {
    key: 'table'
    name: 'privatelink.table.${storageSuffix}'
  }
  {
    key: 'vault'
    name: replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')
  }
]

resource appNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${name}-app-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource endpointNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${name}-pe-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: appNsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: endpointNsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

resource dnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for zone in zones: {
    name: zone.name
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for i in range(0, length(zones)): {
    parent: dnsZones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output appSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
@description('Private DNS zone id per private-endpoint group id (blob, queue, table, vault).')
output zoneIds object = {
  blob: dnsZones[0].id
  queue: dnsZones[1].id
  table: dnsZones[2].id
  vault: dnsZones[3].id
}
