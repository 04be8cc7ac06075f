/**
 * Delegation conditions on role assignments that can write role assignments (Learn "Delegate Azure role assignment
 * management to others with conditions", azure-docs `articles/role-based-access-control/delegate-role-assignments-examples.md`
 * @0b8729ea; the examples are quoted in shared/rules/data/privilege-SOURCES.md §3d). The documented forms are an AND of
 * clauses `(!(ActionMatches{'<action>'})) OR (<predicates>)`, one clause for `roleAssignments/write` (predicates on
 * `@Request[...]`) and one for `roleAssignments/delete` (on `@Resource[...]`); the write clause constrains the roles
 * that may be granted with `ForAnyOfAnyValues:GuidEquals {…}` (an allow-list) or `ForAnyOfAllValues:GuidNotEquals {…}`
 * (a deny-list), optionally with PrincipalType/PrincipalId predicates beside it. Only the roles matter here: whoever
 * may grant a role to some principal can grant it to one it controls, so principal constraints are not relied on.
 */
export type Delegation =
  /** No condition, or one that leaves the roles that may be granted open. */
  | { kind: "unconstrained" }
  /** Only these role definition GUIDs (lower case) may be granted. */
  | { kind: "allow"; roles: string[] }
  /** Every role but these may be granted. */
  | { kind: "deny"; roles: string[] }
  /** Present but none of the documented forms: counts as no condition. */
  | { kind: "not-understood" };

const WRITE = "microsoft.authorization/roleassignments/write";
const DELETE = "microsoft.authorization/roleassignments/delete";
const ROLE_ATTRIBUTE = "microsoft.authorization/roleassignments:roledefinitionid";
const PRINCIPAL_ATTRIBUTES = new Set(["microsoft.authorization/roleassignments:principaltype", "microsoft.authorization/roleassignments:principalid"]);

type Node =
  | { type: "and" | "or"; items: Node[] }
  | { type: "not"; item: Node }
  | { type: "action"; name: string; action: string }
  | { type: "attribute"; source: string; attribute: string; operator: string; values: string[] };

const cache = new Map<string, Delegation>();

/** What a role assignment's condition lets its holder grant (cached: a tenant has a few distinct conditions). */
export function delegationOf(condition: string | null | undefined): Delegation {
  if (condition === undefined || condition === null || condition.trim() === "") return { kind: "unconstrained" };
  let delegation = cache.get(condition);
  if (!delegation) {
    delegation = interpret(condition);
    if (cache.size < 1_000) cache.set(condition, delegation);
  }
  return delegation;
}

function interpret(condition: string): Delegation {
  let tree: Node;
  try {
    tree = new Parser(condition).parse();
  } catch {
    return { kind: "not-understood" };
  }
  const clauses = tree.type === "and" ? tree.items : [tree];
  let allowed: Set<string> | undefined;
  const denied = new Set<string>();
  for (const clause of clauses) {
    const read = readClause(clause);
    if (!read) return { kind: "not-understood" };
    if (read.action === DELETE) continue;
    for (const predicate of read.predicates) {
      if (PRINCIPAL_ATTRIBUTES.has(predicate.attribute)) continue;
      if (predicate.attribute !== ROLE_ATTRIBUTE || predicate.source !== "request") return { kind: "not-understood" };
      const roles = predicate.values.map((value) => value.toLowerCase());
      if (predicate.operator === "foranyofanyvalues:guidequals" || predicate.operator === "guidequals") {
        allowed = allowed ? new Set(roles.filter((role) => allowed?.has(role))) : new Set(roles);
      } else if (predicate.operator === "foranyofallvalues:guidnotequals" || predicate.operator === "guidnotequals") {
        for (const role of roles) denied.add(role);
      } else {
        return { kind: "not-understood" };
      }
    }
  }
  if (allowed) return { kind: "allow", roles: [...allowed].filter((role) => !denied.has(role)).sort() };
  if (denied.size > 0) return { kind: "deny", roles: [...denied].sort() };
  return { kind: "unconstrained" };
}

/** `(!(ActionMatches{A})) OR (P1 AND P2 …)` in either order, for A = roleAssignments/write or /delete. */
function readClause(clause: Node): { action: string; predicates: Array<Extract<Node, { type: "attribute" }>> } | undefined {
  if (clause.type !== "or" || clause.items.length !== 2) return undefined;
  const [first, second] = clause.items as [Node, Node];
  const negated = first.type === "not" ? first : second.type === "not" ? second : undefined;
  const body = negated === first ? second : first;
  if (!negated || negated.item.type !== "action" || negated.item.name !== "actionmatches") return undefined;
  const action = negated.item.action;
  if (action !== WRITE && action !== DELETE) return undefined;
  const items = body.type === "and" ? body.items : [body];
  const predicates: Array<Extract<Node, { type: "attribute" }>> = [];
  for (const item of items) {
    if (item.type !== "attribute") return undefined;
    const expected = action === WRITE ? "request" : "resource";
    if (item.source !== expected) return undefined;
    predicates.push(item);
  }
  return { action, predicates };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A small recursive-descent parser for the ABAC condition language's boolean structure (Learn "Azure role assignment condition format and syntax"). */
class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  parse(): Node {
    const node = this.or();
    this.space();
    if (this.at !== this.text.length) throw new Error(`unexpected text at ${this.at}`);
    return node;
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] ?? "")) this.at += 1;
  }

  private keyword(word: string): boolean {
    this.space();
    const slice = this.text.slice(this.at, this.at + word.length);
    const after = this.text[this.at + word.length] ?? " ";
    if (slice.toUpperCase() === word && /[\s(!@]/.test(after)) {
      this.at += word.length;
      return true;
    }
    return false;
  }

  private or(): Node {
    const items = [this.and()];
    while (this.keyword("OR")) items.push(this.and());
    return items.length === 1 ? (items[0] as Node) : { type: "or", items };
  }

  private and(): Node {
    const items = [this.unary()];
    while (this.keyword("AND")) items.push(this.unary());
    return items.length === 1 ? (items[0] as Node) : { type: "and", items };
  }

  private unary(): Node {
    this.space();
    const char = this.text[this.at];
    if (char === "!") {
      this.at += 1;
      return { type: "not", item: this.unary() };
    }
    if (char === "(") {
      this.at += 1;
      const inner = this.or();
      this.space();
      if (this.text[this.at] !== ")") throw new Error("missing )");
      this.at += 1;
      return inner;
    }
    if (char === "@") return this.attribute();
    return this.action();
  }

  /** `ActionMatches{'…'}` or `SubOperationMatches{'…'}`. */
  private action(): Node {
    const match = /^(ActionMatches|SubOperationMatches)\s*\{\s*'([^']*)'\s*\}/i.exec(this.text.slice(this.at));
    if (!match) throw new Error(`expected an action at ${this.at}`);
    this.at += match[0].length;
    return { type: "action", name: (match[1] ?? "").toLowerCase(), action: (match[2] ?? "").toLowerCase() };
  }

  /** `@Source[attribute] Operator value`, the value a `{…}` list, a quoted string or a bare GUID. */
  private attribute(): Node {
    const match = /^@(Request|Resource|Principal|Environment)\[([^\]]+)\]\s+([A-Za-z]+(?::[A-Za-z]+)?)\s*/i.exec(this.text.slice(this.at));
    if (!match) throw new Error(`expected an attribute at ${this.at}`);
    this.at += match[0].length;
    return { type: "attribute", source: (match[1] ?? "").toLowerCase(), attribute: (match[2] ?? "").trim().toLowerCase(), operator: (match[3] ?? "").toLowerCase(), values: this.values() };
  }

  private values(): string[] {
    this.space();
    if (this.text[this.at] === "{") {
      const end = this.text.indexOf("}", this.at);
      if (end < 0) throw new Error("missing }");
      const values = this.text
        .slice(this.at + 1, end)
        .split(",")
        .map((value) => unquote(value.trim()));
      this.at = end + 1;
      if (values.some((value) => value === "")) throw new Error("empty value");
      return values;
    }
    const single = /^('[^']*'|[0-9a-fA-F-]{36})/.exec(this.text.slice(this.at));
    if (!single) throw new Error(`expected a value at ${this.at}`);
    this.at += single[0].length;
    return [unquote(single[0])];
  }
}

function unquote(value: string): string {
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) return value.slice(1, -1);
  if (!GUID.test(value)) throw new Error(`not a GUID: ${value}`);
  return value;
}
