#!/usr/bin/env node
// The CLI is compiled to dist/ by the `prepare` script, which npm runs on install.
import("../dist/cli/main.js").then((cli) => cli.main(process.argv)).catch((error) => {
  process.stderr.write(`uami-guard: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
