import { InputError } from "../shared/errors.js";
import type { ReadableSubscription } from "../shared/azure/subscriptions.js";

/** Edit distance, for "did you mean" (short strings only: names and GUIDs). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function describe(subscription: ReadableSubscription): string {
  return `${subscription.displayName} (${subscription.subscriptionId})`;
}

/** The readable subscriptions closest to what was typed: a shared prefix, or a few edits away. */
function closeMatches(wanted: string, readable: ReadableSubscription[]): ReadableSubscription[] {
  const lower = wanted.toLowerCase();
  return readable
    .map((subscription) => {
      const name = subscription.displayName.toLowerCase();
      const id = subscription.subscriptionId.toLowerCase();
      const score = Math.min(distance(lower, name), distance(lower, id), name.includes(lower) || id.startsWith(lower) ? 0 : Infinity);
      return { subscription, score };
    })
    .filter(({ score }) => score <= Math.max(2, Math.floor(wanted.length / 3)))
    .sort((a, b) => a.score - b.score)
    .slice(0, 3)
    .map(({ subscription }) => subscription);
}

/**
 * Each requested subscription, by id or display name (case-insensitive, as `az account set` takes
 * them), to its id; one that the credential cannot read is bad input — a typo must never look like
 * a clean estate.
 */
export function resolveSubscriptions(requested: string[], readable: ReadableSubscription[], source: string): string[] {
  return requested.map((wanted) => {
    const lower = wanted.toLowerCase();
    const byId = readable.find((subscription) => subscription.subscriptionId.toLowerCase() === lower);
    if (byId) return byId.subscriptionId;
    const byName = readable.filter((subscription) => subscription.displayName.toLowerCase() === lower);
    if (byName.length === 1 && byName[0]) return byName[0].subscriptionId;
    if (byName.length > 1) throw new InputError(`${source} ${wanted}: ${byName.length} subscriptions have this name; give the id: ${byName.map(describe).join(", ")}`);
    const close = closeMatches(wanted, readable);
    const hint = close.length > 0
      ? `did you mean ${close.map(describe).join(", ")}?`
      : readable.length > 0
        ? `readable: ${readable.slice(0, 5).map(describe).join(", ")}${readable.length > 5 ? `, … (${readable.length} in all)` : ""}`
        : "the credential can read no subscription";
    throw new InputError(`${source} ${wanted}: not a subscription this credential can read; ${hint}`);
  });
}

/**
 * What a run covers: the requested subscriptions (flag first, else the app setting), resolved; with
 * neither, every readable one ([] = no filter, as the sweep state is keyed) and, for real Azure, a note
 * saying so — a sweep of every subscription may be far more than was meant.
 */
export function chooseSubscriptions(
  flag: string[] | undefined,
  setting: string[],
  readable: ReadableSubscription[],
  target: "azure" | "emulator",
): { subscriptions: string[]; note?: string } {
  if (flag && flag.length > 0) return { subscriptions: resolveSubscriptions(flag, readable, "--subscription") };
  if (setting.length > 0) return { subscriptions: resolveSubscriptions(setting, readable, "app setting UAMI_GUARD_SUBSCRIPTIONS") };
  if (target === "emulator") return { subscriptions: [] };
  const names = readable.slice(0, 5).map((subscription) => subscription.displayName).join(", ");
  return {
    subscriptions: [],
    note: `no --subscription or UAMI_GUARD_SUBSCRIPTIONS: using every subscription this credential can read (${readable.length}${readable.length > 0 ? `: ${names}${readable.length > 5 ? ", …" : ""}` : ""})`,
  };
}
