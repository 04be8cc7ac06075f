import type { Tags } from "../../model.js";

/** Tag value by key, case-insensitively; blank values count as absent. */
export function tagValue(tags: Tags, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(tags)) {
    if (name.toLowerCase() === wanted && value.trim() !== "") return value.trim();
  }
  return undefined;
}
