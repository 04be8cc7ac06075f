import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningAzurite } from "../../local/azurite.js";

/**
 * A storage fault: the matching requests (method, a piece of the path, a piece of the body — a table
 * transaction names its table only in its body) are answered `status` instead of reaching Azurite, or have
 * their connection destroyed (`reset`), `count` times. Azure Storage answers a server-busy 503 with this
 * error body (Learn "Table service error codes": ServerBusy). `twice`: the request reaches Azurite twice and the
 * second answer is returned — what an instance sees when another did the same thing a moment before it (a
 * conditional delete then answers Azurite's own 404).
 */
export interface StorageFault {
  method?: string;
  pathContains?: string;
  bodyContains?: string;
  status?: number;
  reset?: boolean;
  twice?: boolean;
  count: number;
}

export interface StorageProxy {
  /** Azurite's connection string with the table and queue endpoints through the proxy. */
  connectionString: string;
  faults: StorageFault[];
  /** Requests the proxy answered with a fault. */
  injected: Array<{ method: string; path: string; fault: StorageFault }>;
  stop(): Promise<void>;
}

/** A proxy in front of Azurite's table and queue services, on 127.0.0.1, that injects the faults it is given. */
export async function startStorageProxy(azurite: RunningAzurite): Promise<StorageProxy> {
  const faults: StorageFault[] = [];
  const injected: StorageProxy["injected"] = [];
  const proxies: Server[] = [];
  const endpoint = async (target: string): Promise<string> => {
    const upstream = new URL(target);
    const server = createServer((req, res) => void forward(req, res, upstream));
    proxies.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`;
  };
  const forward = async (req: IncomingMessage, res: ServerResponse, upstream: URL): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const fault = faults.find(
      (candidate) =>
        candidate.count > 0 &&
        (!candidate.method || candidate.method === method) &&
        (!candidate.pathContains || path.toLowerCase().includes(candidate.pathContains.toLowerCase())) &&
        (!candidate.bodyContains || body.toString("utf8").includes(candidate.bodyContains)),
    );
    if (fault) {
      fault.count -= 1;
      injected.push({ method, path, fault });
      if (fault.twice) {
        await new Promise<void>((resolve) => {
          const first = toAzurite(req, upstream, method, path, (answer) => answer.resume().on("end", resolve));
          first.on("error", () => resolve());
          first.end(body);
        });
        return send(req, res, upstream, method, path, body);
      }
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      res.writeHead(fault.status ?? 503, { "content-type": "application/xml", "x-ms-error-code": "ServerBusy" });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>`);
      return;
    }
    send(req, res, upstream, method, path, body);
  };
  const toAzurite = (req: IncomingMessage, upstream: URL, method: string, path: string, onAnswer: (answer: IncomingMessage) => void): ClientRequest =>
    httpRequest({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...req.headers, host: upstream.host } }, onAnswer);
  const send = (req: IncomingMessage, res: ServerResponse, upstream: URL, method: string, path: string, body: Buffer): void => {
    const outbound = toAzurite(req, upstream, method, path, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    outbound.on("error", () => res.destroy());
    outbound.end(body);
  };
  const table = await endpoint(azurite.tableEndpoint);
  const queue = await endpoint(azurite.queueEndpoint);
  const connectionString = azurite.connectionString.replace(/TableEndpoint=[^;]+/, `TableEndpoint=${table}`).replace(/QueueEndpoint=[^;]+/, `QueueEndpoint=${queue}`);
  return {
    connectionString,
    faults,
    injected,
    stop: async () => {
      for (const server of proxies) server.closeAllConnections();
      await Promise.all(proxies.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}
