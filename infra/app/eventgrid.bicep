// Azure subscription events for one governed subscription: the subscription's system topic and the
// event subscription(s) that deliver identity-relevant operations to the onResourceEvent function.
// Deployed into a resource group of the governed subscription itself.

@description('Name of the system topic (one Microsoft.Resources.Subscriptions topic per subscription).')
@minLength(3)
@maxLength(128)
param systemTopicName string

@description('Tags for the system topic.')
param tags object

@description('Create the event subscriptions. Off on the very first provision: Event Grid checks that the function exists, and azd deploys the code after provisioning.')
param subscribeToEvents bool

@description('Resource id of the Event Grid trigger function (<function app id>/functions/onResourceEvent).')
param eventFunctionId string

@description('Resource id of the storage account that receives dead-lettered events.')
param deadLetterStorageAccountId string

@description('Blob container that receives dead-lettered events.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// The operationName keys of OPERATIONS in shared/events/operations.ts; a unit test keeps them equal.
var operationNames = loadJsonContent('event-operations.json')

// Event Grid allows at most 25 advanced-filter values per event subscription, and filters are ANDed,
// so a longer list becomes several event subscriptions of at most 25 operations each.
var maxFilterValues = 25
var operationBatches = [
  for batch in range(0, (length(operationNames) + maxFilterValues - 1) / maxFilterValues): take(skip(operationNames, batch * maxFilterValues), maxFilterValues)
]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource resourceEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [
  for (operations, batch) in operationBatches: if (subscribeToEvents) {
    parent: systemTopic
    name: batch == 0 ? 'uami-guard' : 'uami-guard-${batch + 1}'
    properties: {
      destination: {
        endpointType: 'AzureFunction'
        properties: {
          resourceId: eventFunctionId
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      eventDeliverySchema: 'EventGridSchema'
      filter: {
        includedEventTypes: [
          'Microsoft.Resources.ResourceWriteSuccess'
          'Microsoft.Resources.ResourceDeleteSuccess'
          'Microsoft.Resources.ResourceActionSuccess'
        ]
        advancedFilters: [
          {
            operatorType: 'StringIn'
            key: 'data.operationName'
            values: operations
          }
        ]
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      }
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: deadLetterStorageAccountId
            blobContainerName: deadLetterContainerName
          }
        }
      }
    }
  }
]

output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
