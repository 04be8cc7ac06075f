// Event plumbing in one subscription (a governed one, or the one holding the guard): a resource group
// there, the subscription's system topic with its event subscriptions, and write access for the topic's
// identity to the dead-letter container.
targetScope = 'subscription'

@description('Resource group for the system topic in the governed subscription.')
@minLength(1)
@maxLength(90)
param resourceGroupName string

@description('Azure region of that resource group.')
param location string

@description('Tags for the resource group and the topic.')
param tags object

@description('Name of the system topic.')
@minLength(3)
param systemTopicName string

@description('Create the event subscriptions (needs the deployed onResourceEvent function).')
param subscribeToEvents bool

@description('Resource id of the onResourceEvent function.')
param eventFunctionId string

@description('A governed subscription (every operation the app knows is delivered), or only the guard\'s home.')
param governed bool = true

@description('Resource id of an action group the delivery alerts notify. Empty: they fire in Azure Monitor only.')
param alertActionGroupId string = ''

@description('Subscription of the app\'s storage account (dead letters).')
param storageSubscriptionId string

@description('Resource group of the app\'s storage account.')
param storageResourceGroupName string

@description('Name of the app\'s storage account.')
param storageAccountName string

@description('Blob container that receives dead-lettered events.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@description('Minutes Event Grid keeps retrying an event.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource eventsGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module subscriptionEvents 'eventgrid.bicep' = {
  name: 'uamiguard-events'
  scope: eventsGroup
  params: {
    systemTopicName: systemTopicName
    tags: tags
    subscribeToEvents: subscribeToEvents
    governed: governed
    alertActionGroupId: alertActionGroupId
    eventFunctionId: eventFunctionId
    deadLetterStorageAccountId: resourceId(storageSubscriptionId, storageResourceGroupName, 'Microsoft.Storage/storageAccounts', storageAccountName)
    deadLetterContainerName: deadLetterContainerName
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

// The dead-letter container lives with the app, usually in another subscription.
module deadLetterAccess 'rbac/deadletter-writer.bicep' = {
  name: 'uamiguard-deadletter-${uniqueString(subscription().id)}'
  scope: resourceGroup(storageSubscriptionId, storageResourceGroupName)
  params: {
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    topicPrincipalId: subscriptionEvents.outputs.systemTopicPrincipalId
  }
}

output systemTopicId string = subscriptionEvents.outputs.systemTopicId
output systemTopicName string = subscriptionEvents.outputs.systemTopicName
output resourceGroupName string = eventsGroup.name
