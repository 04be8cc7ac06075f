// The uami-guard Function App on Flex Consumption (Linux, Node 22). It runs as its own user-assigned
// identity for everything: storage (no connection string), deployment package, Key Vault references,
// Application Insights, Azure Resource Manager and Microsoft Graph.

@description('Function App name.')
@minLength(2)
@maxLength(60)
param name string

@description('Flex Consumption plan name.')
@minLength(1)
@maxLength(60)
param planName string

@description('Azure region (must offer Flex Consumption: az functionapp list-flexconsumption-locations).')
param location string

@description('Tags for the plan and the app (the app also gets azd-service-name).')
param tags object

@description('Service name in azure.yaml; azd deploys to the app tagged with it.')
param serviceName string = 'api'

@description('Resource id of the app\'s user-assigned identity.')
param identityId string

@description('Client id of the app\'s user-assigned identity.')
param identityClientId string

@description('Storage account name (host storage and deployment package).')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Memory per instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound for scale-out (Event Grid bursts and cleanup work items).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Application Insights connection string (keys are disabled; the identity authenticates).')
param applicationInsightsConnectionString string

@description('Policy as inline JSON (app setting UAMI_GUARD_POLICY).')
@minLength(2)
param policyJson string

@description('Governed subscription ids (app setting UAMI_GUARD_SUBSCRIPTIONS).')
param governedSubscriptionIds array

@description('Six-field NCRONTAB schedule of the sweep (app setting SWEEP_SCHEDULE).')
@minLength(11)
param sweepSchedule string

@description('Key Vault secret URI of the Teams Workflows webhook URL; empty when Teams is not configured.')
param teamsWebhookSecretUri string = ''

@description('Logs Ingestion endpoint of the findings data collection rule.')
param logsIngestionEndpoint string

@description('Immutable id (dcr-...) of the findings data collection rule.')
param dataCollectionRuleImmutableId string

@description('Stream of the findings data collection rule.')
param logsIngestionStream string

@description('Endpoint of the Event Grid topic findings are published to.')
param findingsTopicEndpoint string

@description('Key Vault secret URI of the findings topic access key; empty when the identity (EventGrid Data Sender) is used.')
param findingsTopicKeySecretUri string = ''

@description('Key Vault secret URI of the key that seals cleanup work items.')
param workItemKeySecretUri string

@description('The event subscriptions\' maxDeliveryAttempts: the app counts failed deliveries against it (event-undecided on the last).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@description('The event subscriptions\' eventTimeToLiveInMinutes.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var keyVaultReference = '@Microsoft.KeyVault(SecretUri='

// Every key of appSettingsSchema (shared/config/settings.ts) except AzureWebJobsStorage: that one is a
// connection string with an account key, for local runs against Azurite only. In Azure the host and the
// app use the identity-based AzureWebJobsStorage__* settings. No FUNCTIONS_EXTENSION_VERSION or
// FUNCTIONS_WORKER_RUNTIME: Flex Consumption takes the runtime from functionAppConfig.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  UAMI_GUARD_POLICY: policyJson
  UAMI_GUARD_SUBSCRIPTIONS: join(governedSubscriptionIds, ',')
  SWEEP_SCHEDULE: sweepSchedule
  TEAMS_WEBHOOK_URL: empty(teamsWebhookSecretUri) ? '' : '${keyVaultReference}${teamsWebhookSecretUri})'
  LOGS_INGESTION_ENDPOINT: logsIngestionEndpoint
  LOGS_INGESTION_DCR_ID: dataCollectionRuleImmutableId
  LOGS_INGESTION_STREAM: logsIngestionStream
  EVENTGRID_TOPIC_ENDPOINT: findingsTopicEndpoint
  EVENTGRID_TOPIC_KEY: empty(findingsTopicKeySecretUri) ? '' : '${keyVaultReference}${findingsTopicKeySecretUri})'
  UAMI_GUARD_WORK_ITEM_KEY: '${keyVaultReference}${workItemKeySecretUri})'
  UAMI_GUARD_EVENT_MAX_DELIVERY_ATTEMPTS: string(maxDeliveryAttempts)
  UAMI_GUARD_EVENT_TTL_MINUTES: string(eventTimeToLiveInMinutes)
  // Every outgoing call has a deadline; a run ends inside Flex Consumption's 30-minute function timeout.
  UAMI_GUARD_CALL_TIMEOUT_SECONDS: '30'
  UAMI_GUARD_RUN_TIMEOUT_SECONDS: '1500'
  // Empty: GET /api/report takes on as many identities as the worker's heap (below) holds, and refuses a larger
  // estate before reading its role assignments (docs/output.md "How large a report can be").
  UAMI_GUARD_REPORT_MAX_IDENTITIES: ''
  // The node worker's old space: half the instance's memory (1,024 MB on the default 2,048 MB instance), the rest for
  // the Functions host, V8's young generation, code and buffers. Bounded, V8 collects as the heap nears the cap
  // instead of growing it to several times the live set; a sweep that outgrows it fails loudly and is retried, rather
  // than the platform stopping the instance. Learn "App settings reference for Azure Functions":
  // languageWorkers__node__arguments. The host appends the setting to the node worker's command line
  // (azure-functions-host WorkerConfigurationHelper.AddArgumentsFromAppSettings) and, because it is set, starts a fresh
  // worker on specialization instead of reusing a pre-warmed placeholder one (WebHostRpcWorkerChannelManager
  // .UsePlaceholderChannel): the cap holds on a pre-warmed instance too, for the price of that worker's start.
  // bench/processes.ts runs the benchmark's sweeps with this cap.
  languageWorkers__node__arguments: '--max-old-space-size=${instanceMemoryMB / 2}'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // Node 22: supported on Flex Consumption (Learn "Flex Consumption plan hosting", supported
      // language stack versions: https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan;
      // Az.Functions 4.3.0 custom/FunctionsStackFlexData/<region>/node.json lists "Node|22"). Node 20
      // reaches end of life in April 2026.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }
}

output id string = functionApp.id
output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
// The Event Grid trigger registered in functions/onResourceEvent.ts.
output eventFunctionId string = '${functionApp.id}/functions/onResourceEvent'
