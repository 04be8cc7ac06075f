import { idKey } from "../model.js";

/** Whether `id` is `scope` or lies below it (ARM ids, case-insensitive, on a segment boundary). */
export function withinScope(id: string, scope: string): boolean {
  const prefix = idKey(scope).replace(/\/+$/, "");
  const key = idKey(id);
  return prefix === "" || key === prefix || key.startsWith(`${prefix}/`);
}

export function withinAny(id: string, scopes: readonly string[]): boolean {
  return scopes.some((scope) => withinScope(id, scope));
}
