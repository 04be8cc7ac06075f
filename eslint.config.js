// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * `npm run lint` (run by `npm test`): eslint's and typescript-eslint's recommended rules, the type-checked ones
 * included. The layering (ARCHITECTURE.md's import table, no cycles) is dependency-cruiser's
 * (.dependency-cruiser.cjs, test/unit/layering.test.ts), not eslint's. A rule turned off says why.
 */
export default tseslint.config(
  { ignores: ["dist/", ".deploy/", "coverage/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_name` marks what a destructuring drops on purpose (a record's key, an entity's system properties).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
      // Async implementations of async interfaces (stores, sinks, test doubles) need no await; and a throw in an
      // async function is a rejection, which the callers' error handling relies on.
      "@typescript-eslint/require-await": "off",
      // Control characters are what the terminal and page escapes look for in hostile names.
      "no-control-regex": "off",
      // Evidence and ARM properties are `unknown` by type and strings or numbers by construction; String() of them
      // is meant, and an object among them shows as what it is in the output tests.
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    // The report page's script has its own program (the DOM's types): tsconfig.client.json.
    files: ["shared/report/client.ts"],
    languageOptions: { parserOptions: { projectService: false, project: "./tsconfig.client.json", tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The page script keeps ES5-style `var` and function expressions: it is inlined as written.
      "no-var": "off",
    },
  },
  {
    // ARM and Microsoft Graph calls through @azure-rest/core-client's untyped `path()`: the adapters check the
    // response's status and shape themselves and hand back plain types (ARCHITECTURE.md "Invariants").
    files: ["shared/azure/arm.ts", "shared/azure/armActions.ts", "shared/azure/directory.ts", "shared/azure/groupMembers.ts", "shared/azure/selfCheck.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // An assertion on an untyped response is where its shape is stated.
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
    },
  },
  {
    // Tests and the emulator read JSON documents (request bodies, CLI output, captures) whose shape the
    // assertions, or the emulator's own validation, check.
    files: ["test/**", "local/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      // Fixtures spell out the type they build, for the reader.
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", module: "writable", require: "readonly", console: "readonly" },
    },
  },
);
