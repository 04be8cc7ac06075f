// uami-guard: the Function App, its own least-privilege identity, storage, monitoring, Key Vault,
// the findings data collection rule and Sentinel content in one resource group, plus per governed
// subscription: Reader (and the enforcer role in enforce mode) and the subscription's system topic.
targetScope = 'subscription'

@description('Name of the azd environment; part of every resource name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region for the resources (must offer Flex Consumption: az functionapp list-flexconsumption-locations).')
@minLength(1)
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group for uami-guard in every subscription it touches; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Comma-separated ids of the subscriptions to govern; empty governs the subscription you deploy to.')
param governedSubscriptionIds string = ''

@description('Value of the owner tag on every resource (uami-guard requires owner and environment tags on identities, its own included).')
@minLength(1)
param owner string = 'platform-security'

@description('Who else may change the guard (policy self.deployers): [{ name, appId } | { name, objectId }]. The principal running this deployment is always one. An app team\'s pipeline does not belong here: a change to the guard by anyone not listed is governance-tampering.')
param guardDeployers array = []

@description('Enforce mode: grant the uami-guard enforcer custom role in every governed subscription. Policy rules.<id>.mode and cleanup.dryRun decide what runs.')
param enforce bool = false

@description('Create the Event Grid subscriptions. Set to true after the first azd up, once the onResourceEvent function is deployed.')
param subscribeToEvents bool = false

@description('Onboard the workspace to Microsoft Sentinel and create the analytics rules.')
param enableSentinel bool = true

@description('Six-field NCRONTAB schedule of the sweep.')
@minLength(11)
param sweepSchedule string = '0 0 */6 * * *'

@description('Minutes between two sweeps, as sweepSchedule runs them: the no-sweep alert fires after twice this.')
@minValue(5)
@maxValue(1440)
param sweepIntervalMinutes int = 360

@description('Resource id of an action group the operations alerts notify. Empty: they fire in Azure Monitor only.')
param alertActionGroupId string = ''

@description('Event Grid delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Days the Log Analytics workspace keeps data interactively.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

@description('Storage account replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSku string = 'Standard_LRS'

@description('Key Vault purge protection (cannot be turned off again). Recommended for production.')
param keyVaultPurgeProtection bool = true

@secure()
@description('Teams Workflows webhook URL; stored in Key Vault and read through a Key Vault reference. Empty: no Teams notifications.')
param teamsWebhookUrl string = ''

@secure()
@minLength(44)
@description('Key that seals cleanup work items (base64 of at least 32 random bytes: azd env set UAMI_GUARD_WORK_ITEM_KEY "$(openssl rand -base64 32)"); stored in Key Vault, read through a Key Vault reference.')
param workItemKey string

@description('Scopes (comma-separated ARM scopes) that the desired state published to the desired-state container governs. Empty: no desired-state comparison.')
param desiredStateScopes string = ''

@description('Object id of the service principal of the pipeline that publishes desired state after apply. Empty: grant it yourself.')
param desiredStatePublisherPrincipalId string = ''

@description('Endpoint of an existing Event Grid topic for findings. Empty: uami-guard creates its own topic (Entra auth only).')
param findingsTopicEndpoint string = ''

@secure()
@description('Access key of that existing topic; stored in Key Vault. Empty: the app\'s identity authenticates (needs EventGrid Data Sender on it).')
param findingsTopicKey string = ''

var abbreviations = {
  appInsights: 'appi-'
  functionApp: 'func-uamiguard-'
  identity: 'id-uamiguard-'
  keyVault: 'kv-'
  logAnalytics: 'log-'
  plan: 'plan-'
  dataCollectionRule: 'dcr-uamiguard-'
  resourceGroup: 'rg-'
  storage: 'st'
  systemTopic: 'evgst-uamiguard-'
  topic: 'evgt-uamiguard-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'uami-guard'
  owner: owner
  environment: environmentName
}
var groupName = empty(resourceGroupName) ? '${abbreviations.resourceGroup}${environmentName}' : resourceGroupName
var listedSubscriptions = filter(map(split(governedSubscriptionIds, ','), id => toLower(trim(id))), id => !empty(id))
var governedSubscriptions = empty(listedSubscriptions) ? [toLower(subscription().subscriptionId)] : listedSubscriptions
// Every governed subscription, and the guard's own even when it is not governed: changes to the guard's
// resource group must reach the app wherever it lives (governance-tampering).
var eventSubscriptionIds = union(governedSubscriptions, [toLower(subscription().subscriptionId)])
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: groupName
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    // 24 characters at most, so the identity could also be attached to a VM.
    name: '${abbreviations.identity}${take(resourceToken, 8)}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbreviations.storage}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSku
    appPrincipalId: identity.outputs.principalId
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    desiredStateContainerName: 'desired-state'
    desiredStatePublisherPrincipalId: desiredStatePublisherPrincipalId
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbreviations.logAnalytics}${resourceToken}'
    applicationInsightsName: '${abbreviations.appInsights}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    appPrincipalId: identity.outputs.principalId
  }
}

module operations 'app/operations.bicep' = {
  name: 'operations'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    sweepIntervalMinutes: sweepIntervalMinutes
    alertActionGroupId: alertActionGroupId
    systemTopicIds: [for (subscriptionId, index) in eventSubscriptionIds: governedEvents[index].outputs.systemTopicId]
  }
}

module findingsIngestion 'app/dcr.bicep' = {
  name: 'findings-dcr'
  scope: rg
  params: {
    name: '${abbreviations.dataCollectionRule}${resourceToken}'
    location: location
    tags: tags
    workspaceName: monitoring.outputs.workspaceName
    appPrincipalId: identity.outputs.principalId
  }
}

module sentinel 'app/sentinel.bicep' = {
  name: 'sentinel'
  scope: rg
  params: {
    workspaceName: monitoring.outputs.workspaceName
    location: location
    tags: tags
    enableSentinel: enableSentinel
  }
  // The rules and the workbook query the table.
  dependsOn: [findingsIngestion]
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbreviations.keyVault}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    enablePurgeProtection: keyVaultPurgeProtection
    teamsWebhookUrl: teamsWebhookUrl
    eventGridTopicKey: findingsTopicKey
    workItemKey: workItemKey
  }
}

module findingsTopic 'app/findings-topic.bicep' = if (empty(findingsTopicEndpoint)) {
  name: 'findings-topic'
  scope: rg
  params: {
    name: '${abbreviations.topic}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

// The app's own identity is `self` in the policy: its changes are never findings. Its Function App is
// where every governed subscription's events must arrive (event-coverage-missing), and everything in
// its resource groups — this one, and the one holding the system topic in each governed subscription —
// is its own (governance-tampering).
var functionAppName = '${abbreviations.functionApp}${resourceToken}'
var selfResources = concat([rg.id], map(governedSubscriptions, subscriptionId => '/subscriptions/${subscriptionId}/resourceGroups/${groupName}'))
// Every .json blob of the container is one source; each document says its own format (Terraform or what-if).
var listedDesiredStateScopes = filter(map(split(desiredStateScopes, ','), scope => trim(scope)), scope => !empty(scope))
var desiredState = empty(listedDesiredStateScopes) ? {} : {
  desiredState: {
    sources: [
      {
        path: storage.outputs.desiredStateContainerUrl
        scopes: listedDesiredStateScopes
      }
    ]
    approves: false
  }
}
var policy = union(loadJsonContent('policy.json'), desiredState, {
  self: {
    objectId: identity.outputs.principalId
    appId: identity.outputs.clientId
    functionAppId: resourceId(subscription().subscriptionId, groupName, 'Microsoft.Web/sites', functionAppName)
    resources: selfResources
    // Whoever deploys the guard may change it (Learn "Deployment functions for Bicep": deployer().objectId is the
    // principal running the deployment, a user or a pipeline's service principal).
    deployers: concat([{ name: 'deploying-principal', objectId: deployer().objectId }], guardDeployers)
  }
})

module functionApp 'app/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbreviations.plan}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    policyJson: string(policy)
    governedSubscriptionIds: governedSubscriptions
    sweepSchedule: sweepSchedule
    teamsWebhookSecretUri: empty(teamsWebhookUrl) ? '' : keyVault.outputs.teamsWebhookSecretUri
    logsIngestionEndpoint: findingsIngestion.outputs.logsIngestionEndpoint
    dataCollectionRuleImmutableId: findingsIngestion.outputs.immutableId
    logsIngestionStream: findingsIngestion.outputs.streamName
    findingsTopicEndpoint: empty(findingsTopicEndpoint) ? findingsTopic.outputs.endpoint : findingsTopicEndpoint
    findingsTopicKeySecretUri: empty(findingsTopicKey) ? '' : keyVault.outputs.eventGridTopicKeySecretUri
    workItemKeySecretUri: keyVault.outputs.workItemKeySecretUri
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

module governedAccess 'app/rbac/governed-subscription.bicep' = [
  for subscriptionId in governedSubscriptions: {
    name: 'uamiguard-access-${uniqueString(environmentName, subscriptionId)}'
    scope: subscription(subscriptionId)
    params: {
      appPrincipalId: identity.outputs.principalId
      environmentName: environmentName
      enforce: enforce
    }
  }
]

module governedEvents 'app/governed-events.bicep' = [
  for subscriptionId in eventSubscriptionIds: {
    name: 'uamiguard-events-${uniqueString(environmentName, subscriptionId)}'
    scope: subscription(subscriptionId)
    params: {
      resourceGroupName: groupName
      location: location
      tags: tags
      systemTopicName: '${abbreviations.systemTopic}${environmentName}'
      subscribeToEvents: subscribeToEvents
      governed: contains(governedSubscriptions, subscriptionId)
      alertActionGroupId: alertActionGroupId
      eventFunctionId: functionApp.outputs.eventFunctionId
      storageSubscriptionId: subscription().subscriptionId
      storageResourceGroupName: rg.name
      storageAccountName: storage.outputs.name
      deadLetterContainerName: storage.outputs.deadLetterContainerName
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
]

// azd writes these into .azure/<environment>/.env; DEPLOY.md uses them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output UAMI_GUARD_FUNCTION_APP_URL string = functionApp.outputs.url
output UAMI_GUARD_IDENTITY_ID string = identity.outputs.id
output UAMI_GUARD_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output UAMI_GUARD_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output UAMI_GUARD_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output UAMI_GUARD_DESIRED_STATE_URL string = storage.outputs.desiredStateContainerUrl
output UAMI_GUARD_KEY_VAULT_NAME string = keyVault.outputs.name
output UAMI_GUARD_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
output UAMI_GUARD_LOG_ANALYTICS_CUSTOMER_ID string = monitoring.outputs.workspaceCustomerId
output LOGS_INGESTION_DCR_ID string = findingsIngestion.outputs.immutableId
output LOGS_INGESTION_ENDPOINT string = findingsIngestion.outputs.logsIngestionEndpoint
output EVENTGRID_TOPIC_ENDPOINT string = empty(findingsTopicEndpoint) ? findingsTopic.outputs.endpoint : findingsTopicEndpoint
output UAMI_GUARD_OPERATIONS_WORKBOOK_ID string = operations.outputs.workbookId
output UAMI_GUARD_GOVERNED_SUBSCRIPTION_IDS array = governedSubscriptions
// <subscription id>/<resource group>/<system topic name>, one per subscription with event plumbing (the governed ones and the guard's own).
output UAMI_GUARD_SYSTEM_TOPIC_NAMES array = [for (subscriptionId, index) in eventSubscriptionIds: '${subscriptionId}/${governedEvents[index].outputs.resourceGroupName}/${governedEvents[index].outputs.systemTopicName}']
