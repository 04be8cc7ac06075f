// Custom Event Grid topic the app publishes every finding to as a CloudEvent. Entra-only: local (key)
// authentication is disabled and the app's identity is an EventGrid Data Sender on this topic only.

@description('Name of the findings topic.')
@minLength(3)
@maxLength(50)
param name string

@description('Azure region of the topic.')
param location string

@description('Tags for the topic.')
param tags object

@description('Principal id of the app\'s user-assigned identity (publishes findings).')
param appPrincipalId string

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource findingsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, appPrincipalId, eventGridDataSender)
  scope: topic
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
  }
}

output id string = topic.id
output name string = topic.name
output endpoint string = topic.properties.endpoint
