import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/identity";
import { createTokenManager, type TokenManagerOptions } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { createRedis } from "@redis-credentials/ioredis";
import { createAdapter } from "@socket.io/redis-adapter";
import { Server } from "socket.io";

export interface ChatServerConfig {
  /** Who the server is on Microsoft Entra ID: on Azure, `new DefaultAzureCredential()`. */
  credential: TokenCredential;
  /** Your Azure Managed Redis endpoint (port 10000), over TLS; `ca` only for a private CA. */
  redis: { host: string; port: number; ca?: string };
  /** The HTTP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** The token manager's options. @default the core's, made for Entra's hour-long tokens */
  tokenManager?: TokenManagerOptions;
}

export interface ChatServer {
  /** Where Socket.IO clients connect, e.g. `http://127.0.0.1:3000`. */
  url: string;
  close(): Promise<void>;
}

/**
 * A Socket.IO chat server: every `chat` message a client sends reaches every client, whichever
 * server instance it is connected to, through Redis pub/sub.
 */
export async function startChatServer(config: ChatServerConfig): Promise<ChatServer> {
  const manager = createTokenManager(
    entraId({ credential: config.credential }),
    config.tokenManager,
  );
  const pubClient = await createRedis(manager, {
    host: config.redis.host,
    port: config.redis.port,
    tls: { ca: config.redis.ca },
  }).catch(async (error: unknown) => {
    await manager.dispose();
    throw error;
  });
  // The adapter subscribes on a connection of its own. A duplicate() of a bound client is bound
  // too: it re-authenticates in place at each new token (RESP3), without missing a message.
  const subClient = pubClient.duplicate();

  const httpServer = createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });
  io.on("connection", (socket) => {
    socket.on("chat", (text: string) => io.emit("chat", text));
  });
  await subClient.ping(); // sent after the adapter's SUBSCRIBEs: they are in place once it answers

  httpServer.listen(config.port ?? 3_000);
  await once(httpServer, "listening");
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await io.close(); // disconnects the clients and closes the HTTP server
      await Promise.all([subClient.quit(), pubClient.quit()]);
      await manager.dispose();
    },
  };
}
