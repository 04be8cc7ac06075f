import type { EmulatedService, EmulatorSettings } from "./estate.js";
import { armError, type EmulatorResponse } from "./http.js";
import { mulberry32 } from "../random.js";

/** Fault injection per the estate's `emulator.faults`. */
export class FaultInjector {
  private readonly random: () => number;
  private readonly used: number[];

  constructor(private readonly settings: EmulatorSettings) {
    this.random = mulberry32(settings.seed);
    this.used = settings.faults.map(() => 0);
  }

  /** The injected error for this request, if any fault fires. */
  check(service: EmulatedService, path: string, method: string): EmulatorResponse | undefined {
    for (const [index, fault] of this.settings.faults.entries()) {
      if (fault.service !== service) continue;
      if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.pathContains && !path.includes(fault.pathContains.toLowerCase())) continue;
      if (fault.count !== undefined && (this.used[index] ?? 0) >= fault.count) continue;
      if (fault.rate < 1 && this.random() >= fault.rate) continue;
      this.used[index] = (this.used[index] ?? 0) + 1;
      const response = armError(fault.status, faultCode(fault.status), `Injected fault: HTTP ${fault.status} from ${service}.`);
      if (fault.status === 429 || fault.status === 503) {
        response.headers = { "retry-after": String(fault.retryAfterSeconds ?? 1) };
      }
      return response;
    }
    return undefined;
  }
}

function faultCode(status: number): string {
  if (status === 401) return "InvalidAuthenticationToken";
  if (status === 403) return "Authorization_RequestDenied";
  if (status === 409) return "ScopeLocked";
  if (status === 412) return "PreconditionFailed";
  if (status === 429) return "TooManyRequests";
  if (status >= 500) return "InternalServerError";
  return "BadRequest";
}

/** Resource Graph's per-caller quota: a fixed window with the real headers, 429 + Retry-After past it. */
export class ResourceGraphQuota {
  private windowStart = 0;
  private used = 0;

  constructor(private readonly requests: number, private readonly windowMs: number) {}

  take(now = Date.now()): { allowed: boolean; headers: Record<string, string> } {
    if (now >= this.windowStart + this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    const resetsAfterMs = this.windowStart + this.windowMs - now;
    if (this.used >= this.requests) {
      return {
        allowed: false,
        headers: {
          "retry-after": String(Math.max(1, Math.ceil(resetsAfterMs / 1000))),
          "x-ms-user-quota-remaining": "0",
          "x-ms-user-quota-resets-after": formatTimeSpan(resetsAfterMs),
        },
      };
    }
    this.used += 1;
    return {
      allowed: true,
      headers: {
        "x-ms-user-quota-remaining": String(this.requests - this.used),
        "x-ms-user-quota-resets-after": formatTimeSpan(resetsAfterMs),
      },
    };
  }
}

/** hh:mm:ss as Resource Graph sends it, with a fraction only for sub-second windows. */
export function formatTimeSpan(ms: number): string {
  const totalSeconds = Math.max(0, ms) / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const whole = Math.floor(seconds);
  const fraction = seconds - whole;
  const base = `${pad(hours)}:${pad(minutes)}:${pad(whole)}`;
  return fraction > 0.0005 ? `${base}.${Math.round(fraction * 1000).toString().padStart(3, "0")}` : base;
}

function pad(value: number): string {
  return value.toString().padStart(2, "0");
}

export type ArmOperationType = "reads" | "writes" | "deletes";

/**
 * Azure's ARM throttling numbers per subscription and principal (token bucket, since 2024):
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
 */
export const ARM_BUCKETS: Record<ArmOperationType, [number, number]> = { reads: [250, 25], writes: [200, 10], deletes: [200, 10] };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * ARM's token buckets: one per (subscription or tenant, principal, operation type), refilled
 * continuously. Every answer carries `x-ms-ratelimit-remaining-<scope>-<type>`; past the bucket ARM
 * answers 429 with Retry-After.
 */
export class ArmQuota {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly sizes: Record<ArmOperationType, [number, number]>) {}

  static from(setting: boolean | Partial<Record<ArmOperationType, [number, number]>> | undefined): ArmQuota | undefined {
    if (setting === undefined || setting === false) return undefined;
    return new ArmQuota(setting === true ? ARM_BUCKETS : { ...ARM_BUCKETS, ...setting });
  }

  take(path: string, method: string, principal: string, now = Date.now()): { allowed: boolean; headers: Record<string, string> } {
    const type: ArmOperationType = method === "GET" || method === "HEAD" ? "reads" : method === "DELETE" ? "deletes" : "writes";
    const subscription = /^\/subscriptions\/([^/]+)/.exec(path)?.[1];
    const scope = subscription ? "subscription" : "tenant";
    const [size, refill] = this.sizes[type];
    const key = `${subscription ?? ""}|${principal}|${type}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: size, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(size, bucket.tokens + ((now - bucket.at) * refill) / 1000);
    bucket.at = now;
    const header = `x-ms-ratelimit-remaining-${scope}-${type}`;
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / refill));
      return { allowed: false, headers: { [header]: "0", "retry-after": String(retryAfter) } };
    }
    bucket.tokens -= 1;
    return { allowed: true, headers: { [header]: String(Math.floor(bucket.tokens)) } };
  }
}
