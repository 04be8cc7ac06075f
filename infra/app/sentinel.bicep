// Sentinel content over UamiGuardFindings_CL: onboarding, scheduled analytics rules and the findings
// workbook. The workbook is deployed either way; onboarding and the rules only with enableSentinel.

@description('Log Analytics workspace that holds UamiGuardFindings_CL.')
param workspaceName string

@description('Azure region of the workbook.')
param location string

@description('Tags for the workbook.')
param tags object

@description('Onboard the workspace to Microsoft Sentinel and create the analytics rules.')
param enableSentinel bool = true

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource onboarding 'Microsoft.SecurityInsights/onboardingStates@2023-02-01' = if (enableSentinel) {
  scope: workspace
  name: 'default'
  properties: {}
}

// One alert per result row; alerts of the same finding (Fingerprint) are grouped into one incident.
var analyticsRules = [
  {
    key: 'critical-finding'
    displayName: 'uami-guard: critical managed identity finding'
    description: 'uami-guard reported a new critical finding, e.g. a managed identity holding Owner, User Access Administrator or role-assignment write at subscription or management-group scope.'
    severity: 'High'
    tactics: ['PrivilegeEscalation']
    techniques: ['T1098']
    query: '''
UamiGuardFindings_CL
| where Status == "new" and Severity =~ "critical"
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
  {
    key: 'attachment-outside-pipeline'
    displayName: 'uami-guard: identity attached outside an approved pipeline'
    description: 'A user-assigned identity was attached to a VM, app or container by a caller that is not an approved deployment pipeline.'
    severity: 'High'
    tactics: ['PrivilegeEscalation', 'Persistence']
    techniques: ['T1098']
    query: '''
UamiGuardFindings_CL
| where Status == "new" and RuleId == "attachment-outside-pipeline"
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
  {
    key: 'cleanup-circuit-breaker'
    displayName: 'uami-guard: cleanup circuit breaker tripped'
    description: 'An enforce run would have exceeded cleanup.maxActionsPerRun or cleanup.maxDeletePercent and took no action at all. Review the findings before raising the limits.'
    severity: 'High'
    tactics: ['Impact']
    techniques: []
    query: '''
UamiGuardFindings_CL
| where Status == "new" and RuleId == "cleanup-circuit-breaker"
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
  {
    key: 'privileged-identity-exposed'
    displayName: 'uami-guard: someone else can act as a privileged identity'
    description: 'A principal other than the identity (and not an approved pipeline, the governance app, a protected principal or one already as privileged) can assign a critical or high user-assigned identity to a resource, add a federated credential to it, or run code where it is attached, and so act as it.'
    severity: 'High'
    tactics: ['PrivilegeEscalation', 'CredentialAccess']
    techniques: ['T1098', 'T1552']
    query: '''
UamiGuardFindings_CL
| where ingestion_time() > ago(5m)
| where Status == "new" and RuleId == "privileged-identity-exposed"
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
  {
    key: 'identity-assign-right-granted'
    displayName: 'uami-guard: right to act as a privileged identity granted outside a pipeline'
    description: 'A caller that is not an approved pipeline granted a role that lets its assignee assign a critical or high user-assigned identity or add a federated credential to it.'
    severity: 'High'
    tactics: ['PrivilegeEscalation', 'Persistence']
    techniques: ['T1098']
    query: '''
UamiGuardFindings_CL
| where ingestion_time() > ago(5m)
| where Status == "new" and RuleId == "identity-assign-right-granted"
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
  {
    key: 'identity-change-outside-pipeline'
    displayName: 'uami-guard: identity, role grant or federated credential changed outside a pipeline'
    description: 'A role was granted to a managed identity, a federated credential was added, or an identity was changed or deleted by a caller that is not an approved pipeline (critical ones are covered by the critical-finding rule).'
    severity: 'Medium'
    tactics: ['Persistence', 'PrivilegeEscalation']
    techniques: ['T1098']
    query: '''
UamiGuardFindings_CL
| where Status == "new" and Severity !~ "critical"
| where RuleId in ("role-assignment-outside-pipeline", "federated-credential-outside-pipeline", "identity-change-outside-pipeline", "identity-deleted-while-in-use")
| project TimeGenerated, RuleId, Severity, SubjectId, RelatedId, Fingerprint, Title, Message, Caller, SubscriptionId, RunId
'''
  }
]

resource rules 'Microsoft.SecurityInsights/alertRules@2023-02-01' = [
  for rule in analyticsRules: if (enableSentinel) {
    scope: workspace
    name: guid(workspace.id, 'uami-guard', rule.key)
    kind: 'Scheduled'
    dependsOn: [onboarding]
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      query: rule.query
      queryFrequency: 'PT5M'
      queryPeriod: 'PT5M'
      triggerOperator: 'GreaterThan'
      triggerThreshold: 0
      suppressionEnabled: false
      suppressionDuration: 'PT5H'
      tactics: rule.tactics
      techniques: rule.techniques
      eventGroupingSettings: {
        aggregationKind: 'AlertPerResult'
      }
      alertDetailsOverride: {
        alertDisplayNameFormat: 'uami-guard {{RuleId}}: {{Title}}'
        alertDescriptionFormat: '{{Message}}'
      }
      customDetails: {
        RuleId: 'RuleId'
        Fingerprint: 'Fingerprint'
        Caller: 'Caller'
        SubscriptionId: 'SubscriptionId'
        RunId: 'RunId'
      }
      entityMappings: [
        {
          entityType: 'AzureResource'
          fieldMappings: [
            {
              identifier: 'ResourceId'
              columnName: 'SubjectId'
            }
          ]
        }
      ]
      incidentConfiguration: {
        createIncident: true
        groupingConfiguration: {
          enabled: true
          reopenClosedIncident: false
          lookbackDuration: 'P1D'
          matchingMethod: 'Selected'
          groupByEntities: []
          groupByAlertDetails: []
          groupByCustomDetails: ['Fingerprint']
        }
      }
    }
  }
]

resource findingsWorkbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(workspace.id, 'uami-guard-findings-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'uami-guard findings'
    category: enableSentinel ? 'sentinel' : 'workbook'
    sourceId: workspace.id
    version: 'Notebook/1.0'
    serializedData: replace(loadTextContent('sentinel-workbook.json'), '__WORKSPACE_ID__', workspace.id)
  }
}

output analyticsRuleCount int = enableSentinel ? length(analyticsRules) : 0
output workbookId string = findingsWorkbook.id
