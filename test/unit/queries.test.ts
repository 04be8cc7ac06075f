import { describe, expect, it } from "vitest";
import { QUERIES } from "../../shared/azure/queries.js";
import { signInQuery } from "../../shared/azure/signIns.js";
import { compileQuery, LOG_ANALYTICS, QueryError, RESOURCE_GRAPH } from "../../local/emulator/kql/index.js";
import { RESOURCE_GRAPH_TABLES } from "../../local/emulator/kql/schema.js";
import { analyze } from "../../local/emulator/kql/kusto.js";

/**
 * Every query the product sends, through Microsoft's Kusto language service against the declared
 * Resource Graph schema (no cached plan: the text itself is parsed and typed here).
 */
describe("the product's queries against the declared schema", () => {
  it.each(Object.entries(QUERIES))("%s parses, binds every name and is one the emulator runs", (_name, query) => {
    const { diagnostics } = analyze(query, RESOURCE_GRAPH_TABLES);
    expect(diagnostics.filter((diagnostic) => diagnostic.Severity === "Error").map((diagnostic) => diagnostic.Message)).toEqual([]);
    expect(() => compileQuery(query, RESOURCE_GRAPH, { fresh: true })).not.toThrow();
  });

  it("no query carries a comment: nothing answers by one", () => {
    for (const query of [...Object.values(QUERIES), signInQuery(90)]) expect(query).not.toMatch(/\/\/|\/\*/);
  });

  it("each paged query projects id (Resource Graph gives $skipToken only then) and orders by it", () => {
    for (const [name, query] of Object.entries(QUERIES)) {
      const columns = compileQuery(query, RESOURCE_GRAPH, { fresh: true }).query.columns.map((column) => column.name);
      if (name === "roleAssignmentCount") expect(columns).toEqual(["count_"]);
      else {
        expect(columns).toContain("id");
        expect(query).toMatch(/\| order by id asc$/);
      }
    }
  });

  it("the sign-in query is valid Log Analytics KQL over AADManagedIdentitySignInLogs", () => {
    const compiled = compileQuery(signInQuery(30), LOG_ANALYTICS, { fresh: true });
    expect(compiled.query.columns).toEqual([
      { name: "ServicePrincipalId", type: "string" },
      { name: "LastSignIn", type: "datetime" },
    ]);
  });

  it("a misspelt column, an unknown table and an unsupported operator are refused, with where", () => {
    const refusal = (query: string): QueryError => {
      try {
        compileQuery(query, RESOURCE_GRAPH, { fresh: true });
      } catch (error) {
        if (error instanceof QueryError) return error;
        throw error;
      }
      throw new Error(`accepted: ${query}`);
    };
    expect(refusal("resources | project idd")).toMatchObject({ code: "KS142", token: "idd" });
    expect(refusal("resourcez | take 1")).toMatchObject({ token: "resourcez" });
    expect(refusal("resources | parse id with * '/' x")).toMatchObject({ code: "InvalidQueryLanguage" });
    expect(refusal("resources | where")).toMatchObject({ code: "ParserFailure" });
  });
});
