import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, for tests that read its sources as text. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every .ts file below `directory` (a repo path), as repo paths. */
export function sources(directory: string): string[] {
  if (!existsSync(join(ROOT, directory))) return [];
  return readdirSync(join(ROOT, directory)).flatMap((entry) => {
    const path = join(directory, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}
