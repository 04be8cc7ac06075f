/** Plain shapes of what the event handlers read back from ARM (adapters in shared/azure/arm.ts fill them). */
export interface ResourceIdentityState {
  id: string;
  type: string;
  identityType: string;
  userAssignedIdentityIds: string[];
}

export interface FederatedCredentialState {
  issuer: string;
  subject: string;
  audiences?: string[];
}
