// Operating the guard: an Azure Monitor workbook over the metrics the app sends to Application
// Insights (uamiguard.*, README.md "Watching the guard itself") and over Event Grid's delivery metrics of its system topics,
// and log search alert rules on the app's metrics: no sweep finished in twice the schedule, any failed
// event, an outbox backlog older than an hour, a breaker trip, and the guard's own findings (coverage,
// delivery, tampering). Each system topic has metric alerts of its own (eventgrid.bicep).

@description('Application Insights component the app sends its telemetry to.')
param applicationInsightsName string

@description('Azure region of the workbook and the alert rules.')
param location string

@description('Tags for the workbook and the alert rules.')
param tags object

@description('Minutes between two sweeps (the interval of sweepSchedule): the no-sweep alert fires after twice this.')
@minValue(5)
@maxValue(1440)
param sweepIntervalMinutes int = 360

@description('Resource id of an action group the alerts notify. Empty: the alerts fire in Azure Monitor only.')
param alertActionGroupId string = ''

@description('Resource ids of the Event Grid system topics that deliver to the app (the workbook charts their delivery metrics).')
param systemTopicIds array = []

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource operationsWorkbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'uami-guard-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'uami-guard operations'
    category: 'workbook'
    sourceId: applicationInsights.id
    version: 'Notebook/1.0'
    serializedData: replace(replace(loadTextContent('operations-workbook.json'), '__APP_INSIGHTS_ID__', applicationInsights.id), '["__SYSTEM_TOPIC_IDS__"]', string(systemTopicIds))
  }
}

// A log search alert's window is at most two days
// (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule#configure-the-alert-rule-conditions).
var sweepWindowMinutes = min(2 * sweepIntervalMinutes, 2880)

var alertRules = [
  {
    key: 'no-sweep'
    displayName: 'uami-guard: no sweep finished in twice the schedule'
    description: 'No sweep reported uamiguard.sweep.duration in twice the sweep interval: the timer, the app or its access to Resource Graph is broken, and nothing is being checked.'
    severity: 1
    evaluationFrequency: 'PT15M'
    windowSize: 'PT${sweepWindowMinutes}M'
    query: '''
customMetrics
| where name == "uamiguard.sweep.duration"
| summarize Sweeps = sum(valueCount)
| where Sweeps == 0 or isnull(Sweeps)
'''
  }
  {
    key: 'failed-events'
    displayName: 'uami-guard: events failed'
    description: 'An Event Grid delivery could not be handled (uamiguard.events with status failed): it is retried, then dead-lettered, and its detection is late or lost.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == "uamiguard.events" and tostring(customDimensions.status) == "failed"
| summarize Failed = sum(valueSum)
| where Failed > 0
'''
  }
  {
    key: 'outbox-backlog'
    displayName: 'uami-guard: notifications pending for over an hour'
    description: 'A sink still has notifications in the outbox, and had them over an hour ago (uamiguard.outbox.pending): Teams, Sentinel or the findings topic is not taking them.'
    severity: 2
    evaluationFrequency: 'PT15M'
    windowSize: 'PT2H'
    query: '''
customMetrics
| where name == "uamiguard.outbox.pending"
| extend Sink = tostring(customDimensions.sink)
| summarize arg_max(timestamp, value), FirstPending = minif(timestamp, value > 0) by Sink
| where value > 0 and FirstPending < ago(1h)
'''
  }
  {
    key: 'breaker-trip'
    displayName: 'uami-guard: cleanup circuit breaker tripped'
    description: 'A run would have exceeded its cleanup budget and took no action (uamiguard.breaker.trips). Review the findings before raising the limits.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == "uamiguard.breaker.trips"
| summarize Trips = sum(valueSum)
| where Trips > 0
'''
  }
  {
    key: 'guard-findings'
    displayName: 'uami-guard: the guard is blinded or tampered with'
    description: 'A run reported event-coverage-missing (a subscription\'s changes do not all reach the app), event-delivery-failing (Event Grid dropped, dead-lettered or failed deliveries to it) or governance-tampering (someone other than its deployers changed it). See the README, "Watching the guard itself".'
    severity: 0
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == "uamiguard.findings"
| extend RuleId = tostring(customDimensions.ruleId)
| where RuleId in ("event-coverage-missing", "event-delivery-failing", "governance-tampering")
| summarize Findings = sum(valueSum) by RuleId
| where Findings > 0
'''
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in alertRules: {
    name: 'uamiguard-${rule.key}-${uniqueString(applicationInsights.id)}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsights.id]
      evaluationFrequency: rule.evaluationFrequency
      windowSize: rule.windowSize
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            // Each query returns a row exactly when its condition holds (the no-sweep query also when no sweep reported at all).
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: empty(alertActionGroupId) ? [] : [alertActionGroupId]
      }
    }
  }
]

output workbookId string = operationsWorkbook.id
output alertRuleNames array = [for (rule, index) in alertRules: alerts[index].name]
