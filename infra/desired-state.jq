# Keeps of `terraform show -json` only what uami-guard compares, so the published document carries no
# secret (the JSON of a state or plan shows sensitive values in plain text). For a plan, planned_values
# and resource_changes (with after_unknown) are kept the same way.
#   terraform show -json | jq -f desired-state.jq > desired-state.json
def attributes: with_entries(select(.key | IN("id", "name", "resource_group_name", "principal_id", "scope", "role_definition_id", "role_definition_name", "condition", "parent_id", "user_assigned_identity_id", "issuer", "subject", "audience", "identity")));
def resource: {address, mode, type, name, index, values: ((.values // {}) | attributes)} | with_entries(select(.value != null));
def terraform_module: (if .resources then .resources |= map(resource) else . end) | (if .child_modules then .child_modules |= map(terraform_module) else . end);
def module_values: if . == null then null else {root_module: ((.root_module // {}) | terraform_module)} end;
{format_version, terraform_version}
+ (if .values then {values: (.values | module_values)} else {} end)
+ (if .planned_values then {planned_values: (.planned_values | module_values)} else {} end)
+ (if .resource_changes then {resource_changes: [.resource_changes[] | {address, mode, type, change: {actions: .change.actions, after_unknown: ((.change.after_unknown // {}) | if type == "object" then attributes else . end)}}]} else {} end)
