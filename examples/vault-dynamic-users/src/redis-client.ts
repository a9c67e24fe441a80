import { createTokenManager, type TokenManagerOptions } from "@redis-credentials/core";
import { createRedis } from "@redis-credentials/ioredis";
import {
  type VaultDatabaseCredentialsOptions,
  vaultDatabaseCredentials,
} from "./vault-database-credentials";

export interface RedisClientConfig {
  /** Where Vault leases the Redis users from. */
  vault: VaultDatabaseCredentialsOptions;
  /** Your Redis, over TLS; `ca` for a private CA. */
  redis: { host: string; port: number; ca?: string };
  /** The token manager's options. @default the core's: a new user at 3/4 of the lease */
  tokenManager?: TokenManagerOptions;
}

/**
 * An ioredis client authenticated as a user leased from Vault. At each new lease it sends
 * `AUTH <new user> <new password>` on its live connection, and reconnects as the newest user.
 */
export async function connectRedis(config: RedisClientConfig) {
  const manager = createTokenManager(vaultDatabaseCredentials(config.vault), config.tokenManager);
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
