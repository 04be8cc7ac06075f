// The governance app's own user-assigned identity. It is tagged like every identity the app governs,
// so uami-guard never reports itself as untagged.

@description('Name of the user-assigned identity (at most 24 characters, so it can also be attached to VMs).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the identity.')
param location string

@description('Tags for the identity; must include owner and environment.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
