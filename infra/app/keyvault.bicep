// Secrets the app reads through Key Vault references (never as plain app settings). RBAC-enabled:
// the app's identity can read secret values and nothing else.

@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags for the vault.')
param tags object

@description('Principal id of the app\'s user-assigned identity (reads secrets).')
param appPrincipalId string

@description('Purge protection: a deleted vault cannot be purged during the soft-delete retention. Recommended for production.')
param enablePurgeProtection bool = true

@secure()
@description('Teams Workflows webhook URL; stored as secret teams-webhook-url when not empty.')
param teamsWebhookUrl string = ''

@secure()
@description('Access key of an external Event Grid topic; stored as secret eventgrid-topic-key when not empty.')
param eventGridTopicKey string = ''

@secure()
@description('Key that seals cleanup work items (HMAC-SHA256); stored as secret work-item-key.')
param workItemKey string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var teamsWebhookSecretName = 'teams-webhook-url'
var eventGridTopicKeySecretName = 'eventgrid-topic-key'
var workItemKeySecretName = 'work-item-key'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be switched off once on; leaving the property out keeps it off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource teamsWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: vault
  name: teamsWebhookSecretName
  properties: {
    value: teamsWebhookUrl
    contentType: 'text/uri-list'
  }
}

resource eventGridTopicKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(eventGridTopicKey)) {
  parent: vault
  name: eventGridTopicKeySecretName
  properties: {
    value: eventGridTopicKey
  }
}

// Whoever can write to the cleanup queue must not be able to make the enforcer act: work items are sealed with this key.
resource workItemKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: workItemKeySecretName
  properties: {
    value: workItemKey
  }
}

resource secretsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

output id string = vault.id
output name string = vault.name
// Versionless secret URIs, so a rotated secret is picked up without a deployment. The caller decides
// whether a secret was stored (these outputs never look at the secret values).
output teamsWebhookSecretUri string = '${vault.properties.vaultUri}secrets/${teamsWebhookSecretName}'
output eventGridTopicKeySecretUri string = '${vault.properties.vaultUri}secrets/${eventGridTopicKeySecretName}'
output workItemKeySecretUri string = '${vault.properties.vaultUri}secrets/${workItemKeySecretName}'
