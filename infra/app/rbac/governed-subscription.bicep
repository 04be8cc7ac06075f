// What the app's identity may do in one governed subscription: read everything (Reader), and only in
// enforce mode the exact write actions the cleanup actions and their undo need. Never Owner,
// Contributor, User Access Administrator or Role Based Access Control Administrator.
targetScope = 'subscription'

@description('Principal id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Name of the azd environment (part of the custom role name).')
@minLength(1)
param environmentName string

@description('Enforce mode: define and assign the uami-guard enforcer role in this subscription.')
param enforce bool

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

// docs/guarantees.md "Cleanup actions": delete and recreate (restore) role assignments, detach and re-attach identities on
// the compute and web resources, tag identities. Reads are listed so the role stands on its own.
var enforcerActions = [
  'Microsoft.Authorization/roleAssignments/read'
  'Microsoft.Authorization/roleAssignments/write'
  'Microsoft.Authorization/roleAssignments/delete'
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Compute/virtualMachines/write'
  'Microsoft.Compute/virtualMachineScaleSets/read'
  'Microsoft.Compute/virtualMachineScaleSets/write'
  'Microsoft.Web/sites/read'
  'Microsoft.Web/sites/write'
  'Microsoft.Web/sites/slots/read'
  'Microsoft.Web/sites/slots/write'
  'Microsoft.App/containerApps/read'
  'Microsoft.App/containerApps/write'
  'Microsoft.ManagedIdentity/userAssignedIdentities/read'
  'Microsoft.ManagedIdentity/userAssignedIdentities/write'
  'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'
  // The status tag goes on through Tags - Update At Scope (Merge/Delete touch only that one tag).
  'Microsoft.Resources/tags/read'
  'Microsoft.Resources/tags/write'
]

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appPrincipalId, reader)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    description: 'uami-guard: inventory and sweeps (Resource Graph, role assignments).'
  }
}

resource enforcerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enforce) {
  name: guid(subscription().id, environmentName, 'uami-guard-enforcer')
  properties: {
    // Role names are unique in the tenant: one enforcer role per environment and subscription.
    roleName: 'uami-guard enforcer (${environmentName}, ${subscription().subscriptionId})'
    description: 'uami-guard enforce mode: delete and restore role assignments, detach and re-attach user-assigned identities, tag identities.'
    type: 'CustomRole'
    permissions: [
      {
        actions: enforcerActions
        notActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource enforcerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enforce) {
  name: guid(subscription().id, appPrincipalId, 'uami-guard-enforcer')
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: enforcerRole.id
    description: 'uami-guard: enforce-mode cleanup actions (journaled, capped, restorable).'
  }
}

output readerAssignmentId string = readerAssignment.id
