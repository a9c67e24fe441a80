import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/identity";
import { createTokenManager, type TokenManagerOptions } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { createRedis } from "@redis-credentials/ioredis";
import express from "express";
import { findProduct } from "./products";

export interface CacheServiceConfig {
  /** Who the service is on Microsoft Entra ID: on Azure, `new DefaultAzureCredential()`. */
  credential: TokenCredential;
  /** Your Azure Managed Redis endpoint (port 10000), over TLS; `ca` only for a private CA. */
  redis: { host: string; port: number; ca?: string };
  /** The HTTP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** The token manager's options. @default the core's, made for Entra's hour-long tokens */
  tokenManager?: TokenManagerOptions;
}

export interface CacheService {
  /** Where the service listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  close(): Promise<void>;
}

/** An HTTP service that serves products from Redis, loading a product on a cache miss. */
export async function startCacheService(config: CacheServiceConfig): Promise<CacheService> {
  // One manager for the process: it fetches a token, refreshes it before it expires, and
  // re-authenticates the connection with each new one.
  const manager = createTokenManager(
    entraId({ credential: config.credential }),
    config.tokenManager,
  );
  const redis = await createRedis(manager, {
    host: config.redis.host,
    port: config.redis.port,
    tls: { ca: config.redis.ca },
  }).catch(async (error: unknown) => {
    await manager.dispose();
    throw error;
  });

  const app = express();
  app.get("/products/:id", async (req, res) => {
    const key = `product:${req.params.id}`;
    const cached = await redis.get(key);
    if (cached !== null) {
      res.set("x-cache", "hit").type("json").send(cached);
      return;
    }
    const product = await findProduct(req.params.id);
    if (product === undefined) {
      res.sendStatus(404);
      return;
    }
    await redis.set(key, JSON.stringify(product), "EX", 60);
    res.set("x-cache", "miss").json(product);
  });

  const server = app.listen(config.port ?? 3000);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await redis.quit();
      await manager.dispose();
    },
  };
}
