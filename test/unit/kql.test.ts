import { describe, expect, it } from "vitest";
import { compileQuery, RESOURCE_GRAPH, type Row, type Scan } from "../../local/emulator/kql/index.js";

/**
 * The emulator's KQL over a small table: operators and functions as Learn's Kusto reference defines
 * them (mv-expand of null and empty values, innerunique joins, nulls in sorts, summarize of nothing, …).
 */

const base = { tenantId: "t", kind: "", location: "uksouth", resourceGroup: "rg", subscriptionId: "s", managedBy: "", sku: null, plan: null, zones: null, extendedLocation: null };
const ROWS: Row[] = [
  { ...base, id: "/r/a", name: "Alpha", type: "x/one", tags: { env: "prod", owner: "team-a" }, properties: { n: 5, when: "2026-03-01T00:00:00Z", list: [1, 2, 3], json: '{"k":1}' }, identity: null },
  { ...base, id: "/r/b", name: "beta", type: "x/two", tags: {}, properties: { n: 12, when: "2025-01-01T00:00:00Z", list: [], json: "not json" }, identity: { type: "UserAssigned", userAssignedIdentities: { "/i/1": {}, "/i/2": {} } } },
  { ...base, id: "/r/c", name: "gamma-ray", type: "x/one", tags: { env: "dev" }, properties: { n: null, list: null }, identity: null, location: "ukwest" },
];
const scan: Scan = (table, push) => {
  if (table === "resources") ROWS.forEach((row) => push(row));
  if (table === "resourcecontainers") push({ ...base, id: "/subscriptions/s", name: "sub", type: "microsoft.resources/subscriptions", tags: {}, properties: {}, identity: null });
};
const NOW = new Date("2026-06-01T00:00:00Z");
const run = (query: string): Row[] => compileQuery(query, RESOURCE_GRAPH).run(scan, NOW).rows;
const names = (query: string): unknown[] => run(query).map((row) => row["name"]);

describe("where", () => {
  it.each([
    ["type =~ 'X/ONE'", ["Alpha", "gamma-ray"]],
    ["type !~ 'X/ONE'", ["beta"]],
    ["name in~ ('ALPHA', 'BETA')", ["Alpha", "beta"]],
    ["name in ('ALPHA', 'beta')", ["beta"]],
    ["name !in~ ('alpha')", ["beta", "gamma-ray"]],
    ["name has 'gamma'", ["gamma-ray"]],
    ["name has 'amm'", []],
    ["name contains 'amm'", ["gamma-ray"]],
    ["name startswith 'AL'", ["Alpha"]],
    ["name endswith 'RAY'", ["gamma-ray"]],
    ["name startswith_cs 'AL'", []],
    ["name matches regex '^[a-z]+$'", ["beta"]],
    ["not(name == 'beta') and (location == 'uksouth' or name == 'gamma-ray')", ["Alpha", "gamma-ray"]],
    ["toint(properties.n) > 6", ["beta"]],
    ["properties.n between (1 .. 5)", ["Alpha"]],
    ["todatetime(properties.when) > datetime(2026-01-01)", ["Alpha"]],
    ["todatetime(properties.when) > ago(365d)", ["Alpha"]],
    ["tags.env == 'prod'", ["Alpha"]],
    ["tags['owner'] =~ 'TEAM-A'", ["Alpha"]],
    ["isnotempty(tags.env)", ["Alpha", "gamma-ray"]],
    ["isempty(tags.env)", ["beta"]],
    ["isnull(properties.n)", ["gamma-ray"]],
    ["isnotnull(identity)", ["beta"]],
  ])("%s", (condition, expected) => {
    expect(names(`resources | where ${condition} | project name`)).toEqual(expected);
  });
});

describe("tabular operators", () => {
  it("mv-expand: an array gives a row per element, an empty one none, null one row with null; limit caps", () => {
    expect(run("resources | mv-expand item = properties.list | project name, item")).toEqual([
      { name: "Alpha", item: 1 },
      { name: "Alpha", item: 2 },
      { name: "Alpha", item: 3 },
      { name: "gamma-ray", item: null },
    ]);
    expect(run("resources | mv-expand item = properties.list limit 2 | where name == 'Alpha' | count")).toEqual([{ Count: 2 }]);
    expect(run("resources | where name == 'beta' | mv-expand bag = identity.userAssignedIdentities | project bag")).toEqual([{ bag: { "/i/1": {} } }, { bag: { "/i/2": {} } }]);
    expect(run("resources | where name == 'Alpha' | mv-expand with_itemindex=i item = properties.list | project i, item")).toEqual([
      { i: 0, item: 1 },
      { i: 1, item: 2 },
      { i: 2, item: 3 },
    ]);
  });

  it("summarize: count, dcount, make_set, make_list, any, min, max by a key; nothing in gives one row without by", () => {
    expect(run("resources | summarize n = count(), d = dcount(location), s = make_set(location), l = make_list(name), a = any(name), lo = min(name), hi = max(name) by type | order by type asc")).toEqual([
      { type: "x/one", n: 2, d: 2, s: ["uksouth", "ukwest"], l: ["Alpha", "gamma-ray"], a: "Alpha", lo: "Alpha", hi: "gamma-ray" },
      { type: "x/two", n: 1, d: 1, s: ["uksouth"], l: ["beta"], a: "beta", lo: "beta", hi: "beta" },
    ]);
    expect(run("resources | where name == 'none' | summarize count()")).toEqual([{ count_: 0 }]);
    expect(run("resources | where name == 'none' | summarize count() by type")).toEqual([]);
    expect(run("resources | summarize countif(location == 'uksouth'), sum(toint(properties.n))")).toEqual([{ countif_: 2, sum_properties_n: 17 }]);
  });

  it("arg_max and arg_min: the columns of the row holding the extreme, named or all (*)", () => {
    expect(run("resources | summarize arg_max(toint(properties.n), name, location) by type | order by type asc")).toEqual([
      { type: "x/one", properties_n: 5, name: "Alpha", location: "uksouth" },
      { type: "x/two", properties_n: 12, name: "beta", location: "uksouth" },
    ]);
    const oldest = run("resources | summarize arg_min(name, *) by type | order by type asc");
    expect(oldest.map((row) => [row["type"], row["name"], row["id"], row["location"]])).toEqual([
      ["x/one", "Alpha", "/r/a", "uksouth"],
      ["x/two", "beta", "/r/b", "uksouth"],
    ]);
  });

  it("order by: descending unless asc, nulls last descending and first ascending; top; take; distinct", () => {
    expect(names("resources | order by toint(properties.n) | project name")).toEqual(["beta", "Alpha", "gamma-ray"]);
    expect(names("resources | order by toint(properties.n) asc | project name")).toEqual(["gamma-ray", "Alpha", "beta"]);
    expect(names("resources | sort by name asc | project name")).toEqual(["Alpha", "beta", "gamma-ray"]);
    expect(names("resources | top 1 by name asc | project name")).toEqual(["Alpha"]);
    expect(run("resources | limit 2 | count")).toEqual([{ Count: 2 }]);
    expect(run("resources | distinct type | order by type asc")).toEqual([{ type: "x/one" }, { type: "x/two" }]);
  });

  it("project, project-away, project-rename, extend over an extended column", () => {
    expect(Object.keys(run("resources | project-away tags, properties, identity, sku, plan, zones, extendedLocation, managedBy, ['kind'], tenantId, location, resourceGroup, subscriptionId | take 1")[0] ?? {})).toEqual(["id", "name", "type"]);
    expect(run("resources | take 1 | project-rename resourceName = name | project resourceName")).toEqual([{ resourceName: "Alpha" }]);
    expect(run("resources | take 1 | extend a = strlen(name) | extend b = a * 2 | project a, b")).toEqual([{ a: 5, b: 10 }]);
  });

  it("joins: innerunique keeps one left row per key, inner all pairs, leftouter the unmatched with nulls", () => {
    const right = "(resources | mv-expand item = properties.list | project type, item)";
    expect(run(`resources | project type | join kind=inner ${right} on type | count`)).toEqual([{ Count: 8 }]);
    expect(run(`resources | project type | join ${right} on type | count`)).toEqual([{ Count: 4 }]);
    expect(run(`resources | project name, type | join kind=leftouter (resources | where name == 'beta' | project t = type, other = name) on $left.type == $right.t | project name, other | order by name asc`)).toEqual([
      { name: "Alpha", other: null },
      { name: "beta", other: "beta" },
      { name: "gamma-ray", other: null },
    ]);
  });

  it("union with a second table", () => {
    expect(names("resources | project name | union (resourcecontainers | project name) | order by name asc")).toEqual(["Alpha", "beta", "gamma-ray", "sub"]);
  });
});

describe("scalar functions", () => {
  const one = (expression: string): unknown => run(`resources | where name == 'Alpha' | project v = ${expression}`)[0]?.["v"];
  it.each([
    ["tolower(name)", "alpha"],
    ["toupper(name)", "ALPHA"],
    ["tostring(properties.n)", "5"],
    ["tostring(tags)", '{"env":"prod","owner":"team-a"}'],
    ["toint('7')", 7],
    ["tolong(2.9)", 2],
    ["toint('x')", null],
    ["split(id, '/')", ["", "r", "a"]],
    ["split(id, '/', 1)", ["r"]],
    ["extract('/r/(.)', 1, id)", "a"],
    ["extract('nothing(.)', 1, id)", ""],
    ["strcat(name, '-', 1)", "Alpha-1"],
    ["iff(properties.n > 1, 'big', 'small')", "big"],
    ["iif(false, 1, 2)", 2],
    ["case(name == 'x', 1, name == 'Alpha', 2, 3)", 2],
    ["coalesce(tags.absent, tags.env)", "prod"],
    ["array_length(properties.list)", 3],
    ["array_length(tags)", null],
    ["bag_keys(tags)", ["env", "owner"]],
    ["parse_json(tostring(properties.json)).k", 1],
    ["todynamic('[1,2]')[1]", 2],
    ["strlen(name)", 5],
    ["substring(name, 1, 3)", "lph"],
    ["indexof(name, 'ph')", 2],
    ["indexof(name, 'zz')", -1],
    ["trim(' ', '  x  ')", "x"],
    ["trim_start('/', '//a/')", "a/"],
    ["replace_string(id, '/', '|')", "|r|a"],
    ["pack_array(1, 'a')", [1, "a"]],
    ["bag_pack('k', name)", { k: "Alpha" }],
    ["now()", "2026-06-01T00:00:00Z"],
    ["ago(1d)", "2026-05-31T00:00:00Z"],
    ["datetime(2026-06-01) - datetime(2026-05-31)", "1.00:00:00"],
    ["datetime_add('day', 2, datetime(2026-01-30))", "2026-02-01T00:00:00Z"],
    ["bin(17, 5)", 15],
    ["max_of(1, 7, 3)", 7],
    ["gettype(properties.list)", "array"],
  ])("%s", (expression, expected) => {
    expect(one(expression)).toEqual(expected);
  });
});
