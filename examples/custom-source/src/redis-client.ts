import {
  type CredentialSource,
  createTokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { createRedis } from "@redis-credentials/ioredis";

export interface RedisClientConfig {
  /** Where the credentials come from: any source, yours included. */
  source: CredentialSource;
  /** Your Redis, over TLS; `ca` for a private CA. */
  redis: { host: string; port: number; ca?: string };
  /** The token manager's options. @default the core's, made for tokens that live an hour */
  tokenManager?: TokenManagerOptions;
}

/** An ioredis client kept authenticated with the credentials of `source`. */
export async function connectRedis(config: RedisClientConfig) {
  const manager = createTokenManager(config.source, config.tokenManager);
  const redis = await createRedis(manager, {
    host: config.redis.host,
    port: config.redis.port,
    tls: { ca: config.redis.ca },
  }).catch(async (error: unknown) => {
    await manager.dispose();
    throw error;
  });
  return {
    redis,
    async close() {
      await redis.quit();
      await manager.dispose();
    },
  };
}
