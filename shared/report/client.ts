/**
 * The page's one inline script, type-checked against the DOM and the report model (tsconfig.client.json) and
 * compiled to ES2020 by tools/reportScript.ts into clientScript.ts, whose sha256 the page's CSP allows. It reads the
 * model from the JSON data block and draws the identity cards and the findings table a page at a
 * time. Estate text only ever reaches the DOM as text nodes (textContent / append of strings): never
 * innerHTML, so a name like `<img src=x onerror=…>` stays text, and with its invisible characters
 * shown as escapes (`shown`, the pattern of shared/displayText.ts).
 */
import type { ReportFinding, ReportIdentity, ReportModel } from "./model.js";
// A constant: tools/reportScript.ts writes its value into the compiled script (the page imports nothing).
import { INVISIBLE_PATTERN } from "../displayText.js";

type Child = Node | string | number | null | undefined | false;
type Children = Child | Child[];
interface PageState { page: number; matches: number[] }
interface PagedList { state: PageState; size: number; make: (index: number) => Node; container: HTMLElement; status: HTMLElement; pager: HTMLElement; noun: string; nouns: string; total: number }

(function () {
  "use strict";
  /** An element the page's HTML (html.ts) always has. */
  function byId<T extends HTMLElement = HTMLElement>(id: string): T {
    var node = document.getElementById(id);
    if (!node) throw new Error("the page has no #" + id);
    return node as T;
  }
  var started = performance.now();
  var block = JSON.parse(byId("report-data").textContent ?? "") as { packed?: string; data: string } & ReportModel;
  function fail(error: unknown) {
    ["finding-status", "identity-status"].forEach(function (id) { byId(id).textContent = "The report data could not be read: " + String(error); });
    console.error("uami-guard report: " + String(error));
  }
  if (!block.packed) { draw(block); return; }
  try {
    var text = atob(block.data);
    var bytes = new Uint8Array(text.length);
    for (var b = 0; b < text.length; b++) bytes[b] = text.charCodeAt(b);
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
      .then(function (json) { draw(JSON.parse(json) as ReportModel); })
      .catch(fail);
  } catch (error) { fail(error); }

  function draw(data: ReportModel) {
  var RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
  var CARD_PAGE = 20;
  var ROW_PAGE = 100;

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, children?: Children): HTMLElementTagNameMap[K] {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (children !== undefined) append(node, children);
    return node;
  }
  /* Control, bidirectional and invisible characters as escapes, as the CLI shows them (shared/displayText.ts). */
  var INVISIBLE = new RegExp(INVISIBLE_PATTERN, "gu");
  function shown(text: string | number) {
    return String(text).replace(INVISIBLE, function (character) {
      var code = character.codePointAt(0) ?? 0;
      var hex = code.toString(16);
      if (code <= 0xff) return "\\x" + ("0" + hex).slice(-2);
      if (code <= 0xffff) return "\\u" + ("000" + hex).slice(-4);
      return "\\u{" + hex + "}";
    });
  }
  function append(node: HTMLElement, children: Children) {
    var list = Array.isArray(children) ? children : [children];
    for (var i = 0; i < list.length; i++) {
      var child = list[i];
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" || typeof child === "number" ? shown(child) : child);
    }
    return node;
  }
  function badge(level: string, text?: string) {
    return el("span", "badge " + (RANK[level] || level === "none" ? level : "none"), text || level.toUpperCase());
  }
  function number(value: number) { return Number(value).toLocaleString("en-US"); }
  function tableOf(caption: string, headers: string[], rows: Child[][]) {
    var table = el("table", "data");
    table.append(el("caption", "", caption));
    var head = el("tr");
    headers.forEach(function (header) { var th = el("th", "", header); th.scope = "col"; head.append(th); });
    table.append(el("thead", "", head));
    var body = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell) { tr.append(el("td", "", cell)); });
      body.append(tr);
    });
    table.append(body);
    return table;
  }
  function code(text: string) { return el("code", "", text); }
  function definition(list: HTMLElement, term: string, value: Child) {
    list.append(el("dt", "", term));
    list.append(el("dd", "", value));
  }

  /* ---- identity cards ---- */
  var identitySearch = byId<HTMLInputElement>("identity-search");
  var identityLevel = byId<HTMLSelectElement>("identity-level");
  var identityList = byId("identity-list");
  var identityStatus = byId("identity-status");
  var identityPager = byId("identity-pager");
  var haystacks: string[] | null = null;
  var identityState: PageState = { page: 0, matches: [] };

  function haystackOf(identity: ReportIdentity) {
    var parts = [identity.name, identity.id, identity.clientId, identity.principalId, identity.owner || ""];
    Object.keys(identity.tags).forEach(function (key) { parts.push(key + "=" + identity.tags[key]); });
    return parts.join("\n").toLowerCase();
  }
  /* Cards come most exposed first: grade, then the most severe finding, then the estate's order. */
  var cardOrder = data.identities.map(function (identity, index) { return index; });
  function priority(identity: ReportIdentity) { return (identity.grade ? RANK[identity.grade] * 10 : 0) + (identity.worstSeverity ? RANK[identity.worstSeverity] : 0); }
  cardOrder.sort(function (a, b) { return priority(data.identities[b]) - priority(data.identities[a]) || a - b; });
  function identityMatches() {
    var text = identitySearch.value.trim().toLowerCase();
    var level = identityLevel.value;
    if (text && !haystacks) haystacks = data.identities.map(haystackOf);
    var out: number[] = [];
    for (var position = 0; position < cardOrder.length; position++) {
      var i = cardOrder[position];
      var identity = data.identities[i];
      if (level === "findings" && identity.findings.length === 0) continue;
      if (level === "critical" || level === "high") {
        if (identity.grade !== level && identity.worstSeverity !== level) continue;
      }
      if (level === "exposed" && !(identity.exposure && identity.exposure.length > 0)) continue;
      if (text && haystacks && haystacks[i].indexOf(text) < 0) continue;
      out.push(i);
    }
    return out;
  }
  function card(index: number) {
    var identity = data.identities[index];
    var article = el("article", "card");
    article.id = "identity-" + index;
    var heading = el("h3", "", identity.name);
    if (identity.grade) heading.append(" ", badge(identity.grade, "GRADE " + identity.grade.toUpperCase()));
    if (identity.worstSeverity) heading.append(" ", badge(identity.worstSeverity, identity.findings.length + (identity.findings.length === 1 ? " FINDING" : " FINDINGS")));
    article.append(heading);

    var ids = el("dl", "ids");
    definition(ids, "Client ID", code(identity.clientId));
    definition(ids, "Principal ID", code(identity.principalId));
    definition(ids, "Resource ID", code(identity.id));
    definition(ids, "Location", identity.location + " · resource group " + identity.resourceGroup + " · subscription " + identity.subscriptionId);
    definition(ids, "Owner", identity.owner === null ? el("span", "warn", "none (no owner tag)") : identity.owner);
    var tagKeys = Object.keys(identity.tags);
    var tags = el("ul", "tags");
    tagKeys.forEach(function (key) { tags.append(el("li", "", [el("span", "tag-key", key), "=", identity.tags[key]])); });
    definition(ids, "Tags", tagKeys.length === 0 ? el("span", "warn", "none") : tags);
    article.append(ids);

    article.append(el("h4", "", "Attached to (" + identity.attachedTo.length + ")"));
    if (identity.attachedTo.length === 0) article.append(el("p", "muted", "Not attached to any resource."));
    else {
      var attached = el("ul", "ids-list");
      identity.attachedTo.forEach(function (id) { attached.append(el("li", "", code(id))); });
      article.append(attached);
    }

    article.append(el("h4", "", "Role assignments (" + identity.roleAssignments.length + ")"));
    if (identity.roleAssignments.length === 0) article.append(el("p", "muted", "No role assignments."));
    else article.append(tableOf("Role assignments of " + identity.name, ["Role", "Scope", "Assignment ID"], identity.roleAssignments.map(function (assignment) {
      return [assignment.roleName === null ? el("span", "warn", "unknown role " + assignment.roleDefinitionId) : assignment.roleName, code(assignment.scope), code(assignment.id)];
    })));

    article.append(el("h4", "", "Federated credentials (" + identity.federatedCredentials.length + ")"));
    if (identity.federatedCredentials.length === 0) article.append(el("p", "muted", "No federated credentials."));
    else article.append(tableOf("Federated credentials of " + identity.name, ["Issuer", "Subject", "Credential ID"], identity.federatedCredentials.map(function (credential) {
      return [code(credential.issuer), credential.subject ? code(credential.subject) : el("span", "warn", "none: a flexible credential (claims expression)"), code(credential.id)];
    })));

    if (identity.exposure === undefined) {
      article.append(el("h4", "", "Who can act as it"));
      article.append(el("p", "muted", "Not analysed: this inventory carries no exposure data."));
    } else {
      var holders: Record<string, boolean> = {};
      identity.exposure.forEach(function (entry) { holders[entry.principalId] = true; });
      var principals = Object.keys(holders).length;
      article.append(el("h4", "", "Who can act as it (" + principals + (principals === 1 ? " principal, " : " principals, ") + identity.exposure.length + (identity.exposure.length === 1 ? " right)" : " rights)")));
      if (identity.exposure.length === 0) article.append(el("p", "muted", "No principal other than the identity itself (after the exclusions of the exposure analysis)."));
      else {
        var groupNames: Record<string, string> = {};
        identity.exposure.forEach(function (entry) { if (!entry.viaGroup) groupNames[entry.principalId.toLowerCase()] = entry.displayName || entry.principalId; });
        /* A group's members are listed one by one, each "via group <name>"; PIM-eligible rights are marked. */
        article.append(tableOf("Principals that can act as " + identity.name, ["Principal", "Type", "Right", "Role", "Scope", "Resource", "Through"], identity.exposure.map(function (entry) {
          var name = entry.displayName ? [entry.displayName, " ", code(entry.principalId)] : [code(entry.principalId)];
          var through = [entry.viaGroup ? "via group " + (groupNames[entry.viaGroup.toLowerCase()] || entry.viaGroup) : "", entry.eligible ? "eligible (PIM)" : ""].filter(function (part) { return part; }).join(", ");
          return [el("span", "", name), entry.principalType, entry.right, entry.roleName, code(entry.scope), entry.resourceId ? code(entry.resourceId) : "—", through || "direct"];
        })));
      }
    }
    if (identity.gradeReasons && identity.gradeReasons.length > 0) {
      article.append(el("h4", "", "Why it is " + identity.grade + " (" + identity.gradeReasons.length + ")"));
      article.append(tableOf("What gives " + identity.name + " its grade", ["Kind", "Role", "Where", "Through"], identity.gradeReasons.map(function (reason) {
        var through = [reason.viaGroup ? "via group " + reason.viaGroup : "", reason.eligible ? "eligible (PIM)" : ""].filter(function (part) { return part; }).join(", ");
        return [reason.kind, reason.roleName, code(reason.scope || reason.directoryScopeId || "/"), through || "direct"];
      })));
    }

    article.append(el("h4", "", "Findings (" + identity.findings.length + ")"));
    if (identity.findings.length === 0) article.append(el("p", "muted", "No findings."));
    else {
      var list = el("ol", "findings");
      identity.findings.forEach(function (position) { list.append(findingItem(data.findings[position])); });
      article.append(list);
    }
    return article;
  }
  function findingItem(finding: ReportFinding) {
    var item = el("li", "finding");
    item.append(el("p", "", [badge(finding.severity), " ", el("strong", "", finding.title), " ", el("span", "rule", "(" + finding.ruleId + ")")]));
    item.append(el("p", "", finding.message));
    if (finding.remediation.summary) item.append(el("p", "", [el("em", "", "Remediation: "), finding.remediation.summary]));
    if (finding.remediation.cli.length > 0) item.append(el("pre", "", code(finding.remediation.cli.join("\n"))));
    return item;
  }
  function pager(container: HTMLElement, state: PageState, total: number, size: number, redraw: () => void) {
    container.replaceChildren();
    var pages = Math.max(1, Math.ceil(total / size));
    var previous = el("button", "", "← Previous");
    previous.type = "button";
    previous.disabled = state.page === 0;
    previous.addEventListener("click", function () { state.page -= 1; redraw(); });
    var next = el("button", "", "Next →");
    next.type = "button";
    next.disabled = state.page >= pages - 1;
    next.addEventListener("click", function () { state.page += 1; redraw(); });
    container.append(previous, el("span", "", " page " + (state.page + 1) + " of " + pages + " "), next);
  }
  /* One page of a filtered list (all of it when printing), its status line and its pager. */
  function drawPage(list: PagedList, all: boolean) {
    var matches = list.state.matches;
    var from = all ? 0 : list.state.page * list.size;
    var to = all ? matches.length : Math.min(matches.length, from + list.size);
    var fragment = document.createDocumentFragment();
    for (var i = from; i < to; i++) fragment.append(list.make(matches[i]));
    list.container.replaceChildren(fragment);
    list.status.textContent = matches.length === 0 ? "No " + list.noun + " matches." :
      "Showing " + number(from + 1) + "–" + number(to) + " of " + number(matches.length) + " " + list.nouns +
      (matches.length !== list.total ? " (filtered from " + number(list.total) + ")" : "") + ".";
    pager(list.pager, list.state, matches.length, list.size, function () { drawPage(list, false); list.status.scrollIntoView(); });
  }
  var identityPages: PagedList = { state: identityState, size: CARD_PAGE, make: card, container: identityList, status: identityStatus, pager: identityPager, noun: "identity", nouns: "identities", total: data.identities.length };
  function drawIdentities(all: boolean) { drawPage(identityPages, all); }
  function filterIdentities() {
    identityState.matches = identityMatches();
    identityState.page = 0;
    drawIdentities(false);
  }
  identitySearch.addEventListener("input", filterIdentities);
  identityLevel.addEventListener("change", filterIdentities);

  /* ---- findings table ---- */
  var findingSeverity = byId<HTMLSelectElement>("finding-severity");
  var findingRule = byId<HTMLSelectElement>("finding-rule");
  var findingSearch = byId<HTMLInputElement>("finding-search");
  var findingBody = byId("finding-rows");
  var findingStatus = byId("finding-status");
  var findingPager = byId("finding-pager");
  var headers = Array.from(document.querySelectorAll<HTMLTableCellElement>("#finding-table th[data-key]"));
  var findingState: PageState & { key: string; descending: boolean } = { page: 0, matches: [], key: "severity", descending: true };

  data.summary.byRule.forEach(function (entry) {
    var option = el("option", "", entry.ruleId + " (" + entry.count + ")");
    option.value = entry.ruleId;
    findingRule.append(option);
  });
  function subjectName(finding: ReportFinding) {
    return finding.identity === null ? finding.subjectId : data.identities[finding.identity].name;
  }
  function sortValue(finding: ReportFinding, key: string): string | number {
    if (key === "severity") return RANK[finding.severity];
    if (key === "subject") return subjectName(finding).toLowerCase();
    return String((finding as unknown as Record<string, unknown>)[key]).toLowerCase();
  }
  function findingMatches() {
    var severity = findingSeverity.value;
    var rule = findingRule.value;
    var text = findingSearch.value.trim().toLowerCase();
    var out: number[] = [];
    for (var i = 0; i < data.findings.length; i++) {
      var finding = data.findings[i];
      if (severity && finding.severity !== severity) continue;
      if (rule && finding.ruleId !== rule) continue;
      if (text && (finding.title + "\n" + finding.message + "\n" + finding.subjectId + "\n" + (finding.relatedId || "") + "\n" + subjectName(finding)).toLowerCase().indexOf(text) < 0) continue;
      out.push(i);
    }
    var key = findingState.key;
    var sign = findingState.descending ? -1 : 1;
    out.sort(function (a, b) {
      var left = sortValue(data.findings[a], key);
      var right = sortValue(data.findings[b], key);
      return (left < right ? -1 : left > right ? 1 : 0) * sign || a - b;
    });
    return out;
  }
  function findingRow(index: number) {
    var finding = data.findings[index];
    var tr = el("tr");
    tr.dataset.severity = finding.severity;
    tr.dataset.rule = finding.ruleId;
    tr.append(el("td", "", badge(finding.severity)));
    var rule = el("td");
    if (finding.rulePage) {
      var page = el("a", "", code(finding.ruleId));
      page.href = finding.rulePage;
      page.title = "The rule's page: what it reports, why it matters, how to fix it";
      rule.append(page);
    } else rule.append(code(finding.ruleId));
    tr.append(rule);
    var subject = el("td");
    if (finding.identity !== null) {
      var link = el("a", "", subjectName(finding));
      link.href = "#identities";
      var about = finding.identity;
      link.addEventListener("click", function () { identitySearch.value = data.identities[about].id; identityLevel.value = ""; filterIdentities(); });
      subject.append(link);
    } else subject.append(code(finding.subjectId));
    tr.append(subject);
    tr.append(el("td", "", [el("strong", "", finding.title), el("br"), el("span", "message", finding.message)]));
    var fix = el("td");
    if (finding.remediation.cli.length > 0) fix.append(el("pre", "", code(finding.remediation.cli.join("\n"))));
    else fix.append(finding.remediation.summary || "—");
    tr.append(fix);
    return tr;
  }
  var findingPages: PagedList = { state: findingState, size: ROW_PAGE, make: findingRow, container: findingBody, status: findingStatus, pager: findingPager, noun: "finding", nouns: "findings", total: data.findings.length };
  function drawFindings(all: boolean) {
    headers.forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key === findingState.key ? (findingState.descending ? "descending" : "ascending") : "none");
    });
    drawPage(findingPages, all);
  }
  function filterFindings() {
    findingState.matches = findingMatches();
    findingState.page = 0;
    drawFindings(false);
  }
  headers.forEach(function (th) {
    var key = th.dataset["key"] ?? "";
    th.querySelector("button")?.addEventListener("click", function () {
      if (findingState.key === key) findingState.descending = !findingState.descending;
      else { findingState.key = key; findingState.descending = key === "severity"; }
      filterFindings();
    });
  });
  findingSeverity.addEventListener("change", filterFindings);
  findingRule.addEventListener("change", filterFindings);
  findingSearch.addEventListener("input", filterFindings);

  /* Printing (to PDF) gives every identity and finding of the current filters, not just one page. */
  window.addEventListener("beforeprint", function () { drawIdentities(true); drawFindings(true); });
  window.addEventListener("afterprint", function () { drawIdentities(false); drawFindings(false); });

  filterIdentities();
  filterFindings();
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  document.body.dataset.readyAt = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
  }
})();
