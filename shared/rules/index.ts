/** The rule registry, sorted by id. Each rule lives in shared/rules/<rule-id>.ts. */
export const ruleIds: readonly string[] = [];
