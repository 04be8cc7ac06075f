import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { TableClient } from "@azure/data-tables";
import { InputError, errorMessage, firstLine } from "../shared/errors.js";

/**
 * Checks made before any work: an output that cannot be written must stop the run before it reads
 * Azure, sends a notification or changes anything — not fail at the end as an internal error.
 */

function kindOf(path: string): "directory" | "file" | "missing" {
  try {
    return statSync(path).isDirectory() ? "directory" : "file";
  } catch {
    return "missing";
  }
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOENT: "no such directory",
    ENOTDIR: "a part of the path is not a directory",
    EACCES: "permission denied",
    EPERM: "not permitted",
    EROFS: "read-only file system",
    EEXIST: "already exists",
  };
  return (code && known[code]) ?? errorMessage(error);
}

/**
 * The directory (absolute), created when missing. Segment by segment on purpose: Node's recursive
 * mkdir does not return on some pseudo file systems (`mkdir -p /proc/x` loops in Node 20).
 */
export function ensureDirectory(flag: string, path: string): string {
  const absolute = resolve(path);
  const missing: string[] = [];
  let existing = absolute;
  while (kindOf(existing) === "missing" && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  if (kindOf(existing) !== "directory") {
    throw new InputError(`${flag} ${path}: not a directory (${existing === absolute ? "it is a file" : `${existing} is a file`})`);
  }
  for (const directory of missing) {
    try {
      mkdirSync(directory);
    } catch (error) {
      throw new InputError(`${flag} ${path}: cannot create ${directory}: ${reason(error)}`);
    }
  }
  probe(flag, path, resolve(absolute, `.uami-guard-probe-${process.pid}`), true);
  return absolute;
}

/** A file the run will write at the end (absolute): not a directory, and its folder takes a new file. */
export function checkOutputFile(flag: string, path: string): string {
  const absolute = resolve(path);
  const kind = kindOf(absolute);
  if (kind === "directory") throw new InputError(`${flag} ${path}: is a directory (give a file name)`);
  const parent = dirname(absolute);
  if (kindOf(parent) !== "directory") throw new InputError(`${flag} ${path}: ${parent} is not a directory`);
  probe(flag, path, absolute, kind === "missing");
  return absolute;
}

/** Opens the file for appending (nothing is written), and removes it again when it was created here. */
function probe(flag: string, path: string, file: string, created: boolean): void {
  try {
    closeSync(openSync(file, "a"));
    if (created) unlinkSync(file);
  } catch (error) {
    throw new InputError(`${flag} ${path}: cannot write there: ${reason(error)}`);
  }
}

/** The port is free on 127.0.0.1 (0 always is: the OS picks one). */
export async function checkPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((done, fail) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      fail(new InputError(`--port ${port}: ${error.code === "EADDRINUSE" ? "already in use on 127.0.0.1" : `cannot listen on 127.0.0.1: ${reason(error)}`}`));
    });
    server.listen(port, "127.0.0.1", () => server.close(() => done()));
  });
}

const CONNECTION_KEYS = [
  "DefaultEndpointsProtocol", "AccountName", "AccountKey", "SharedAccessSignature", "EndpointSuffix",
  "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint", "UseDevelopmentStorage", "DevelopmentStorageProxyUri",
];

export type StateTarget = { kind: "directory"; directory: string } | { kind: "connection"; connectionString: string };

/**
 * `--state`: a storage connection string (account key or SAS, as Learn "Configure Azure Storage
 * connection strings" lists them: https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string)
 * or a directory for Azurite to persist in (absolute: Azurite runs in a folder of its own). A value
 * that looks like neither (`typo;;`, `AccountName=x`) is refused rather than made into a directory.
 */
export function resolveState(state: string): StateTarget {
  const pairs = new Map<string, string>();
  for (const part of state.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) pairs.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const looksLikeConnection = CONNECTION_KEYS.some((key) => pairs.has(key.toLowerCase()));
  if (!looksLikeConnection) {
    // A directory that already exists is taken whatever its name; a new one named like a broken
    // connection string is a typo, not a place to keep state.
    if (/[;=]/.test(state) && kindOf(resolve(state)) !== "directory") {
      throw new InputError(`--state: neither a directory nor a storage connection string (a connection string is Key=Value pairs separated by ';': DefaultEndpointsProtocol, AccountName and AccountKey, or TableEndpoint and SharedAccessSignature)`);
    }
    return { kind: "directory", directory: ensureDirectory("--state", state) };
  }
  const has = (key: string): boolean => (pairs.get(key.toLowerCase()) ?? "") !== "";
  const development = pairs.get("usedevelopmentstorage")?.toLowerCase() === "true";
  const accountKey = has("AccountName") && has("AccountKey");
  const sas = has("SharedAccessSignature") && has("TableEndpoint");
  if (!development && !accountKey && !sas) {
    const missing = has("SharedAccessSignature") ? "a SAS connection string needs TableEndpoint" : "needs AccountName and AccountKey, or SharedAccessSignature with TableEndpoint";
    // Never echo the value: it may hold a signature or a key.
    throw new InputError(`--state: connection string is not usable: ${missing} (keys given: ${[...pairs.keys()].join(", ")})`);
  }
  const problem = connectionStringProblem(state, pairs);
  if (problem) throw new InputError(`--state: connection string is not usable: ${problem} (keys given: ${[...pairs.keys()].join(", ")})`);
  return { kind: "connection", connectionString: state };
}

const ENDPOINT_KEYS = ["BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint", "DevelopmentStorageProxyUri"];

/**
 * What the storage SDK would refuse once the run is under way, found before any work: the SDK's own
 * parser (@azure/data-tables builds its client from the string without a
 * request; `--state` keeps tables only), plus what they let through and a request would fail on: an endpoint that is not an
 * http(s) URL, a protocol other than http/https, an account key that is not base64. Their messages
 * name keys, never values.
 */
function connectionStringProblem(connectionString: string, pairs: Map<string, string>): string | undefined {
  for (const key of ENDPOINT_KEYS) {
    const value = pairs.get(key.toLowerCase());
    if (value === undefined || value === "") continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || !url.hostname) return `${key} is not an http(s) URL`;
  }
  const protocol = pairs.get("defaultendpointsprotocol");
  if (protocol !== undefined && !/^https?$/i.test(protocol)) return "DefaultEndpointsProtocol must be https or http";
  if (pairs.has("accountkey") && !pairs.has("defaultendpointsprotocol") && pairs.get("usedevelopmentstorage")?.toLowerCase() !== "true") {
    return "with AccountKey it needs DefaultEndpointsProtocol=https (the storage account's Access keys page gives the whole string)";
  }
  const key = pairs.get("accountkey");
  if (key !== undefined && key !== "" && !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return "AccountKey is not base64 (copy it from the storage account's Access keys)";
  try {
    TableClient.fromConnectionString(connectionString, "uamiguardprobe");
  } catch (error) {
    return firstLine(errorMessage(error));
  }
  return undefined;
}
