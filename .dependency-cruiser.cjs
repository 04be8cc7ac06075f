/**
 * The import table of ARCHITECTURE.md ("Folder map and what each may import") as dependency-cruiser rules:
 * test/unit/layering.test.ts runs it over the repository (type-only and side-effect imports included) and
 * fails on any violation. A row changed there is a rule changed here.
 */
const SDK = "^node_modules/@azure(-rest)?/(arm-|identity|data-tables|storage-|monitor-|eventgrid|core-client|core-rest-pipeline|core-auth)";
const only = (name, from, allowed, comment) => ({ name, comment, severity: "error", from: { path: from }, to: { pathNot: allowed } });

module.exports = {
  forbidden: [
    { name: "no-circular", comment: "No import cycles (type-only imports count).", severity: "error", from: {}, to: { circular: true } },
    only(
      "rules-are-pure",
      "^shared/rules/",
      "^(shared/rules/|shared/model\\.ts$|shared/config/policyCore\\.ts$|shared/events/|shared/desiredState/|node_modules/zod/)",
      "shared/rules/: the model, the core policy, event types, the desired-state comparison and zod. No I/O, no SDK, no node: modules.",
    ),
    only(
      "desired-state-is-pure",
      "^shared/desiredState/",
      "^(shared/desiredState/|shared/model\\.ts$)",
      "shared/desiredState/: the readers and the comparison over the model only. No I/O, no SDK.",
    ),
    only("events-are-leaves", "^shared/events/", "^(shared/events/|shared/model\\.ts$|node_modules/zod/)", "shared/events/: parsing and the operation table only."),
    only(
      "config-is-a-leaf",
      "^shared/config/",
      "^(shared/config/|shared/errors\\.ts$|shared/rules/(index|lib/federation)\\.ts$|node_modules/(zod|croner)/|(node:)?(crypto|fs)$)",
      "shared/config/: zod, croner, errors; policy.ts joins the rules' options (the registry).",
    ),
    only(
      "shared-vocabulary",
      "^shared/[^/]+\\.ts$",
      "^(shared/|node_modules/(zod|@opentelemetry/api)/|(node:)?(crypto|async_hooks)$)",
      "shared/*.ts: the vocabulary, over shared/ only.",
    ),
    {
      name: "shared-is-not-a-host",
      comment: "Nothing in shared/ imports @azure/functions, cli/, local/, functions/, bench/ or test/.",
      severity: "error",
      from: { path: "^shared/" },
      to: { path: "^(cli|local|functions|bench|test)/|^node_modules/@azure/functions/" },
    },
    {
      name: "sdk-only-in-adapters",
      comment: "Azure SDK packages are imported only by shared/azure/, shared/notify/, shared/state/, shared/cleanup/ (and the hosts).",
      severity: "error",
      from: { path: "^shared/", pathNot: "^shared/(azure|notify|state|cleanup)/" },
      to: { path: SDK },
    },
    {
      name: "telemetry-sdk-only-in-its-adapter",
      comment: "applicationinsights / OpenTelemetry SDKs only in shared/azure/telemetry.ts; the engine reports through the port.",
      severity: "error",
      from: { pathNot: "^shared/azure/telemetry\\.ts$|^(test|bench)/" },
      to: { path: "^node_modules/(applicationinsights|@opentelemetry/(?!api/)|@azure/monitor-opentelemetry)" },
    },
    {
      name: "telemetry-adapter-on-demand",
      comment: "The telemetry adapter takes seconds to load: cli/ and functions/ import() it only when a connection string is set.",
      severity: "error",
      from: { pathNot: "^(test|bench)/" },
      to: { path: "^shared/azure/telemetry\\.ts$", dependencyTypesNot: ["dynamic-import"] },
    },
    {
      name: "cli-start-up-stays-light",
      comment: "cli/main.ts defines the command line only: what a command runs is import()ed when it runs, so --version and --help answer at once.",
      severity: "error",
      from: { path: "^cli/main\\.ts$" },
      to: {
        pathNot: "^(node_modules/commander/|cli/(formats|log|format|signals)\\.ts$|shared/errors\\.ts$|shared/config/severities\\.ts$|local/azurite\\.ts$|shared/displayText\\.ts$|(node:)?[a-z_/]+$)",
        dependencyTypesNot: ["type-only", "type-import", "dynamic-import"],
      },
    },
    {
      name: "functions-entry-stays-light",
      comment:
        "functions/index.ts registers the functions and import()s a trigger's module on its first invocation: at start it loads @azure/functions, the telemetry starter and the queue's name — no SDK, no engine.",
      severity: "error",
      from: { path: "^functions/(index|telemetry)\\.ts$" },
      to: {
        pathNot: "^(node_modules/@azure/functions/|functions/telemetry\\.ts$|shared/(cleanupQueue|errors|telemetry)\\.ts$)",
        dependencyTypesNot: ["type-only", "type-import", "dynamic-import"],
      },
    },
    only(
      "adapters-translate",
      "^shared/azure/",
      "^(shared/azure/|shared/model\\.ts$|shared/errors\\.ts$|shared/config/|shared/events/|shared/telemetry\\.ts$|shared/rules/lib/|shared/notify/sinks\\.ts$|node_modules/|(node:)?[a-z_/]+$)",
      "shared/azure/: SDKs in, plain model types and ServiceCallFailed out (the self-check reads the sinks' endpoint type).",
    ),
    only(
      "state-stores",
      "^shared/state/",
      "^(shared/state/|shared/errors\\.ts$|shared/model\\.ts$|shared/engine/findingLifecycle\\.ts$|shared/cleanup/(journal|types)\\.ts$|shared/notify/sinks\\.ts$|node_modules/@azure/data-tables/|(node:)?crypto$)",
      "shared/state/: Table storage and the types of what it stores.",
    ),
    only(
      "report-is-pure",
      "^shared/report/",
      "^(shared/report/|shared/[^/]+\\.ts$|shared/config/|shared/rules/lib/exposure\\.ts$|shared/desiredState/|shared/engine/findingLifecycle\\.ts$|(node:)?(crypto|zlib)$)",
      "shared/report/: the pure report builder and page.",
    ),
    only(
      "cleanup-pipeline",
      "^shared/cleanup/",
      "^(shared/cleanup/|shared/azure/|shared/config/|shared/events/operations\\.ts$|shared/findings\\.ts$|shared/notices\\.ts$|shared/model\\.ts$|shared/errors\\.ts$|shared/rules/|shared/engine/findingLifecycle\\.ts$|node_modules/(@azure/storage-queue|p-limit|zod)/|(node:)?crypto$)",
      "shared/cleanup/: plan, journal, change, verify, restore over the adapters; the finding state only as its type.",
    ),
    only(
      "notify-sinks",
      "^shared/notify/",
      "^(shared/notify/|shared/azure/(clients|deadline)\\.ts$|shared/state/outbox\\.ts$|shared/findings\\.ts$|shared/errors\\.ts$|shared/config/|shared/rules/index\\.ts$|shared/engine/findingLifecycle\\.ts$|node_modules/(@azure/|p-limit/)|(node:)?(crypto|timers/promises)$)",
      "shared/notify/: what to tell whom (pure), the cards and rows, the sinks and their SDKs, the outbox.",
    ),
    only(
      "cli-is-a-host",
      "^cli/",
      "^(cli/|shared/|functions/|local/|node_modules/|(node:)?[a-z_/]+$)",
      "cli/: shared/, functions/ (serve) and local/.",
    ),
    only(
      "local-is-the-stand-in",
      "^local/",
      "^(local/|shared/|bench/(syntheticEstate|privilegeFloor)\\.ts$|node_modules/|(node:)?[a-z_/]+$)",
      "local/: the emulator, Azurite, the host; it reads shared/ (the estate's shapes, errors) and the bench's synthetic estate and privilege request floor (emulator main), and is read by nothing in shared/ or functions/.",
    ),
    only("tools-are-build-steps", "^tools/", "^(tools/|node_modules/(dependency-cruiser|typescript)/|(node:)?[a-z_/]+$)", "tools/: build steps over files; they import no product code."),
    {
      name: "functions-are-triggers",
      comment: "functions/: shared/ and @azure/functions; never cli/ or local/.",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^(cli|local|bench|test)/" },
    },
    {
      name: "local-is-below-the-cli",
      comment: "local/ (emulator, Azurite, host) is used by cli/, bench/ and test/ only.",
      severity: "error",
      from: { path: "^(shared|functions)/" },
      to: { path: "^local/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^(shared|functions|cli|local|tools|bench|test)/|^node_modules/",
    exclude: { path: "^(dist|node_modules/.*/node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js", ".d.ts", ".json"] },
    moduleSystems: ["es6", "cjs"],
  },
};
