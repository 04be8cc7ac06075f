import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AzureClients } from "../azure/clients.js";
import { MAX_DOCUMENT_BYTES, readBlobDocuments } from "../azure/desiredStateBlobs.js";
import type { DesiredStateSource } from "../config/policy.js";
import { errorMessage } from "../errors.js";
import { DesiredStateFormatError, mergeDesiredStates, type DesiredState, type DesiredStateFormat, type SourceRead } from "../desiredState/model.js";
import { readTerraformJson } from "../desiredState/terraform.js";
import { readWhatIfJson } from "../desiredState/whatIf.js";

/**
 * Reads every desired-state source of the policy: a file, a directory (its `.json` files), or a blob or
 * container URL. A source any of whose documents cannot be read or parsed is unreadable as a whole:
 * half a state would make the other half look "not in code".
 */
export async function readDesiredStateSources(sources: readonly DesiredStateSource[], clients: AzureClients): Promise<SourceRead[]> {
  return Promise.all(sources.map((source) => readSource(source, clients)));
}

async function readSource(source: DesiredStateSource, clients: AzureClients): Promise<SourceRead> {
  const format = source.format ?? "terraform";
  try {
    const blob = /^https?:\/\//i.test(source.path);
    const documents = blob ? await readBlobDocuments(clients, source.path) : readLocalDocuments(source.path);
    if (documents.length === 0) throw new DesiredStateFormatError("no .json documents");
    // A file or a blob is the source itself; a directory's or container's documents are named.
    const named = documents.length > 1 || (blob ? !documents[0]?.name || !source.path.endsWith(documents[0].name) : documents[0]?.name !== source.path);
    const states: DesiredState[] = [];
    let detected: DesiredStateFormat | undefined;
    for (const document of documents) {
      const parsed = parseDocument(named ? document.name : "", document.text, source.format);
      detected ??= parsed.format;
      states.push(parsed.state);
    }
    return { path: source.path, format: source.format ?? detected ?? format, scopes: source.scopes, ok: true, files: documents.map((document) => document.name), state: mergeDesiredStates(states) };
  } catch (error) {
    return { path: source.path, format: source.format ?? format, scopes: source.scopes, ok: false, reason: errorMessage(error).slice(0, 500) };
  }
}

function readLocalDocuments(path: string): Array<{ name: string; text: string }> {
  const names = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((name) => name.toLowerCase().endsWith(".json"))
        .sort()
        .map((name) => join(path, name))
    : [path];
  return names.map((name) => {
    if (statSync(name).size > MAX_DOCUMENT_BYTES) throw new DesiredStateFormatError(`${name} is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB`);
    return { name, text: readFileSync(name, "utf8") };
  });
}

/** One document: JSON, then the format's reader (given, or told by the document's own keys). */
export function parseDocument(name: string, text: string, format: DesiredStateFormat | undefined): { format: DesiredStateFormat; state: DesiredState } {
  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new DesiredStateFormatError(`${prefix(name)}not valid JSON: ${errorMessage(error).slice(0, 200)}`);
  }
  const detected = format ?? detectFormat(document);
  try {
    return { format: detected, state: detected === "terraform" ? readTerraformJson(document) : readWhatIfJson(document) };
  } catch (error) {
    throw new DesiredStateFormatError(`${prefix(name)}${errorMessage(error)}`);
  }
}

const prefix = (name: string): string => (name ? `${name}: ` : "");

function detectFormat(document: unknown): DesiredStateFormat {
  if (typeof document === "object" && document !== null && !("format_version" in document) && ("changes" in document || "properties" in document)) return "what-if";
  return "terraform";
}
