// The Sentinel findings path: custom table UamiGuardFindings_CL and a Direct data collection rule the
// app uploads rows to with the Logs Ingestion API (no data collection endpoint needed).

@description('Name of the data collection rule.')
@minLength(3)
@maxLength(64)
param name string

@description('Azure region of the rule; the same region as the workspace.')
param location string

@description('Tags for the rule.')
param tags object

@description('Name of the Log Analytics workspace that receives the findings.')
param workspaceName string

@description('Stream the app uploads to (app setting LOGS_INGESTION_STREAM).')
@minLength(8)
param streamName string = 'Custom-UamiGuardFindings'

@description('Principal id of the app\'s user-assigned identity (uploads findings).')
param appPrincipalId string

var tableName = 'UamiGuardFindings_CL'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

// One row per new or resolved finding. The schema is a contract with the analytics rules and the workbook.
var findingColumns = [
  { name: 'TimeGenerated', type: 'dateTime', description: 'When uami-guard reported the finding or its resolution.' }
  { name: 'RuleId', type: 'string', description: 'Rule id, e.g. attachment-outside-pipeline.' }
  { name: 'Severity', type: 'string', description: 'critical, high, medium or low.' }
  { name: 'SubjectId', type: 'string', description: 'ARM id the finding is about (identity, role assignment or resource).' }
  { name: 'RelatedId', type: 'string', description: 'Second ARM id or principal id, when the rule has one.' }
  { name: 'Fingerprint', type: 'string', description: 'Stable hash of RuleId, SubjectId and RelatedId.' }
  { name: 'Title', type: 'string', description: 'One-line summary.' }
  { name: 'Message', type: 'string', description: 'What happened and why it matters.' }
  { name: 'Caller', type: 'string', description: 'UPN, app id or object id of whoever made the change (event rules).' }
  // Checked for a clash with Azure Monitor's standard columns: the one it adds is `_SubscriptionId`
  // (with the underscore), beside TenantId, Type and _ResourceId (MicrosoftDocs/azure-reference-other
  // azure-monitor-ref/tables/includes/*-include.md list them for every table). No source found that
  // reserves `SubscriptionId`, so the column keeps its name.
  { name: 'SubscriptionId', type: 'string', description: 'Subscription of the subject.' }
  { name: 'Evidence', type: 'dynamic', description: 'Rule-specific evidence.' }
  { name: 'RunId', type: 'string', description: 'Sweep or event run that reported it.' }
  { name: 'Mode', type: 'string', description: 'sweep, replay or event.' }
  { name: 'Status', type: 'string', description: 'new or resolved.' }
  { name: 'RulePage', type: 'string', description: 'The rule\'s page (docs/rules/<id>.md): what it reports, why it matters, how to fix it.' }
]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource findingsTable 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: tableName
  properties: {
    plan: 'Analytics'
    schema: {
      name: tableName
      columns: findingColumns
    }
  }
}

resource dataCollectionRule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: name
  location: location
  tags: tags
  kind: 'Direct'
  properties: {
    description: 'uami-guard findings (Logs Ingestion API) into ${tableName}.'
    streamDeclarations: {
      '${streamName}': {
        // Stream types are the table types in lower case (dateTime -> datetime).
        columns: map(findingColumns, column => { name: column.name, type: toLower(column.type) })
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: 'findingsWorkspace'
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [streamName]
        destinations: ['findingsWorkspace']
        transformKql: 'source'
        outputStream: 'Custom-${findingsTable.name}'
      }
    ]
  }
}

resource findingsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataCollectionRule.id, appPrincipalId, monitoringMetricsPublisher)
  scope: dataCollectionRule
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

output tableName string = findingsTable.name
output id string = dataCollectionRule.id
output immutableId string = dataCollectionRule.properties.immutableId
output logsIngestionEndpoint string = dataCollectionRule.properties.endpoints.logsIngestion
output streamName string = streamName
