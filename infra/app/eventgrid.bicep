// Azure subscription events for one subscription: the subscription's system topic and the event
// subscriptions that deliver to the onResourceEvent function: the operations the app knows (identity,
// role and attachment changes, and what aims at the guard), and every write, delete and action on the
// guard's own resource group, whatever it is called. Deployed into the guard's resource group of that
// subscription (it holds the system topic).

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

@description('A governed subscription: deliver every operation the app knows. False (the subscription that holds the guard but is not governed): only the guard\'s own resource group, and locks and policy assignments over it.')
param governed bool = true

@description('Resource id of an action group the delivery alerts notify. Empty: they fire in Azure Monitor only.')
param alertActionGroupId string = ''

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// The operationName keys of OPERATIONS in shared/events/operations.ts, or only its guard-scope-write ones;
// a unit test keeps both equal to the table.
var operationNames = governed ? loadJsonContent('event-operations.json') : loadJsonContent('guard-scope-operations.json')

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

// Where and how every event subscription of this topic delivers.
var delivery = {
  destination: {
    endpointType: 'AzureFunction'
    properties: {
      resourceId: eventFunctionId
      maxEventsPerBatch: 1
      preferredBatchSizeInKilobytes: 64
    }
  }
  eventDeliverySchema: 'EventGridSchema'
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

var includedEventTypes = [
  'Microsoft.Resources.ResourceWriteSuccess'
  'Microsoft.Resources.ResourceDeleteSuccess'
  'Microsoft.Resources.ResourceActionSuccess'
]

resource resourceEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [
  for (operations, batch) in operationBatches: if (subscribeToEvents) {
    parent: systemTopic
    name: batch == 0 ? 'uami-guard' : 'uami-guard-${batch + 1}'
    properties: union(delivery, {
      filter: {
        includedEventTypes: includedEventTypes
        advancedFilters: [
          {
            operatorType: 'StringIn'
            key: 'data.operationName'
            values: operations
          }
        ]
      }
    })
  }
]

// Every write, delete and action on the guard's own resource group, whatever its operation name
// (governance-tampering: "any operation, not a fixed list"). A subscription event's subject is the resource
// id it is about (Learn "Azure Resource Manager as an Event Grid source"), so a subject prefix selects the
// group; no trailing slash, so the group's own events (its delete) match too.
resource guardEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (subscribeToEvents) {
  parent: systemTopic
  name: 'uami-guard-self'
  properties: union(delivery, {
    filter: {
      includedEventTypes: includedEventTypes
      subjectBeginsWith: resourceGroup().id
      isSubjectCaseSensitive: false
    }
  })
}

// Delivery health (event-delivery-failing reads the same metrics at each sweep): an alert as soon as Event Grid
// drops, dead-letters or fails a delivery of this topic. One rule per metric: the criteria of one rule are ANDed.
// Metric names and their Total aggregation: Learn "Supported metrics for Microsoft.EventGrid/systemTopics".
var deliveryMetrics = [
  { name: 'DroppedEventCount', label: 'dropped events' }
  { name: 'DeadLetteredCount', label: 'dead-lettered events' }
  { name: 'DeliveryAttemptFailCount', label: 'failed deliveries' }
]

resource deliveryAlerts 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for metric in deliveryMetrics: {
    name: 'uamiguard-${toLower(metric.name)}-${uniqueString(systemTopic.id)}'
    location: 'global'
    tags: tags
    properties: {
      description: 'Event Grid ${metric.label} of ${systemTopic.name}: events of this subscription reach uami-guard late or never (event-delivery-failing).'
      severity: 1
      enabled: true
      scopes: [systemTopic.id]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: metric.name
            metricNamespace: 'Microsoft.EventGrid/systemTopics'
            metricName: metric.name
            operator: 'GreaterThan'
            threshold: 0
            timeAggregation: 'Total'
          }
        ]
      }
      autoMitigate: true
      actions: empty(alertActionGroupId) ? [] : [{ actionGroupId: alertActionGroupId }]
    }
  }
]

output systemTopicId string = systemTopic.id
output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
