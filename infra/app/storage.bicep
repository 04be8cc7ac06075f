// The app's own storage: Functions host (blob leases, deployment package), finding state and event
// stores (tables), cleanup work items (queue) and Event Grid dead letters (blob). Keys are disabled:
// every caller authenticates with Entra ID.

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the storage account.')
param location string

@description('Tags for the storage account.')
param tags object

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param skuName string = 'Standard_LRS'

@description('Principal id of the app\'s user-assigned identity (gets table, queue and blob data roles).')
param appPrincipalId string

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container that receives events Event Grid could not deliver.')
param deadLetterContainerName string

@description('Blob container where pipelines publish `terraform show -json` and what-if JSON (desired state).')
param desiredStateContainerName string

@description('Object id of the service principal of the pipeline that publishes desired state (Storage Blob Data Contributor on that container only). Empty: none.')
param desiredStatePublisherPrincipalId string = ''

// Tables the app's stores use (shared/composition.ts TABLES); the app also creates them on demand.
var tableNames = [
  'uamiguardfindings'
  'uamiguardevents'
  'uamiguardbaseline'
  'uamiguardidentities'
  'uamiguardoutbox'
  'uamiguardjournal'
]

// Cleanup work items; the Functions host moves a message to the -poison queue after maxDequeueCount.
var queueNames = [
  'uamiguard-cleanup'
  'uamiguard-cleanup-poison'
]

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // the Functions host: deployment package, leases
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // the app: reads the desired state
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // the publishing pipeline: writes it
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
    }

    resource deadLetterContainer 'containers' = {
      name: deadLetterContainerName
    }

    resource desiredStateContainer 'containers' = {
      name: desiredStateContainerName
    }
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource appTables 'tables' = [
      for tableName in tableNames: {
        name: tableName
      }
    ]
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource appQueues 'queues' = [
      for queueName in queueNames: {
        name: queueName
      }
    ]
  }
}

resource appDataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]: {
    name: guid(storage.id, appPrincipalId, roleId)
    scope: storage
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

// Scoped to the container: the app's read of the desired state does not depend on the host's account-wide role,
// and the pipeline that publishes it can write nothing else.
resource desiredStateReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::desiredStateContainer.id, appPrincipalId, roles.storageBlobDataReader)
  scope: storage::blobService::desiredStateContainer
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
}

resource desiredStatePublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(desiredStatePublisherPrincipalId)) {
  name: guid(storage::blobService::desiredStateContainer.id, desiredStatePublisherPrincipalId, roles.storageBlobDataContributor)
  scope: storage::blobService::desiredStateContainer
  properties: {
    principalId: desiredStatePublisherPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = storage::blobService::deploymentContainer.name
output deadLetterContainerName string = storage::blobService::deadLetterContainer.name
output desiredStateContainerUrl string = '${storage.properties.primaryEndpoints.blob}${storage::blobService::desiredStateContainer.name}'
