import type { Server } from "node:net";
import type { Socket } from "node:net";

/**
 * A stop() that returns at once: server.close() waits for keep-alive connections, and on Node 20
 * closeAllConnections() misses idle TLS ones, so the sockets are tracked and destroyed here.
 */
export function stoppable(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
}
