import type { ContainerClient } from "@azure/storage-blob";
import type { AzureClients } from "./clients.js";
import { toServiceCallFailed } from "../errors.js";

/**
 * Desired-state documents kept in Blob storage, read with the app's own identity (Storage Blob Data
 * Reader on the container). A URL names a container (every `.json` blob in it, the way a pipeline
 * publishes one file per stack) or one blob. Against the loopback storage emulator (Azurite) the
 * well-known development account key is used: it accepts no Entra token over plain http.
 */

export interface BlobDocument {
  name: string;
  text: string;
}

const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/** A Terraform state of a large estate is tens of MB; past this it is refused, not streamed into memory. */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
const MAX_BLOBS = 500;

interface BlobLocation {
  service: string;
  container: string;
  blob?: string;
  local: boolean;
}

/** `https://<account>.blob.core.windows.net/<container>[/<blob>]`, or Azurite's path-style `http://127.0.0.1:<port>/<account>/<container>[/<blob>]`. */
export function blobLocation(url: string): BlobLocation {
  const parsed = new URL(url);
  const local = parsed.protocol === "http:" && /^(127\.0\.0\.1|localhost)$/.test(parsed.hostname);
  const parts = parsed.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const account = local ? parts.shift() : undefined;
  const [container, ...blob] = parts;
  if (!container || (local && !account)) throw new Error(`${url}: names no blob container`);
  return {
    service: `${parsed.protocol}//${parsed.host}${account ? `/${account}` : ""}`,
    container,
    ...(blob.length > 0 ? { blob: blob.join("/") } : {}),
    local,
  };
}

/** The blob package is loaded when a source is first read: only policies with blob sources need it. */
async function containerClient(clients: AzureClients, location: BlobLocation): Promise<ContainerClient> {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import("@azure/storage-blob");
  const options = { retryOptions: { maxTries: 4, tryTimeoutInMs: Math.max(1000, Math.floor(clients.deadlines.callMs / 4)) } };
  const service = location.local
    ? new BlobServiceClient(location.service, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), options)
    : new BlobServiceClient(location.service, clients.credential, options);
  return service.getContainerClient(location.container);
}

/** The documents at a blob or container URL, by blob name. Any failure throws ServiceCallFailed (the source is then unreadable). */
export async function readBlobDocuments(clients: AzureClients, url: string): Promise<BlobDocument[]> {
  const location = blobLocation(url);
  const container = await containerClient(clients, location);
  const signal = (): AbortSignal => AbortSignal.timeout(clients.deadlines.callMs);
  try {
    const names: string[] = [];
    if (location.blob) names.push(location.blob);
    else {
      for await (const blob of container.listBlobsFlat({ abortSignal: signal() })) {
        if (!blob.name.toLowerCase().endsWith(".json")) continue;
        names.push(blob.name);
        if (names.length > MAX_BLOBS) throw new Error(`more than ${MAX_BLOBS} .json blobs in ${location.container}`);
      }
      names.sort();
    }
    const documents: BlobDocument[] = [];
    for (const name of names) {
      const blob = container.getBlobClient(name);
      const properties = await blob.getProperties({ abortSignal: signal() });
      if ((properties.contentLength ?? 0) > MAX_DOCUMENT_BYTES) throw new Error(`${name} is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB`);
      const buffer = await blob.downloadToBuffer(0, undefined, { abortSignal: signal() });
      documents.push({ name, text: buffer.toString("utf8") });
    }
    return documents;
  } catch (error) {
    throw toServiceCallFailed("storage", error);
  }
}
