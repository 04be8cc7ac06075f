/** The output formats, in a module of their own: the command line names them before any command loads its renderer. */
export const AZ_FORMATS = ["json", "jsonc", "table", "tsv", "yaml", "none"] as const;
export const REPORT_FORMATS = ["json", "table", "csv", "markdown"] as const;
