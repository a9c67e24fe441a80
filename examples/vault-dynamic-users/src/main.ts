import { readFileSync } from "node:fs";
import { connectRedis } from "./redis-client";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name}: see README.md.`);
  return value;
}

const { redis, close } = await connectRedis({
  vault: {
    address: required("VAULT_ADDR"),
    token: required("VAULT_TOKEN"),
    role: required("VAULT_ROLE"),
    mount: process.env.VAULT_MOUNT, // default: database
    namespace: process.env.VAULT_NAMESPACE, // Vault Enterprise, HCP Vault
  },
  redis: {
    host: required("REDIS_HOST"),
    port: Number(process.env.REDIS_PORT ?? 6379),
    ca: process.env.REDIS_CA_FILE ? readFileSync(process.env.REDIS_CA_FILE, "utf8") : undefined,
  },
});

// Which leased user the connection is, every 5 seconds: it changes at each new lease.
const timer = setInterval(() => {
  Promise.all([redis.call("ACL", "WHOAMI"), redis.incr("visits")])
    .then(([user, visits]) => console.log(`as ${user}: visit ${visits}`))
    .catch((error: Error) => console.error(`Redis: ${error.message}`));
}, 5_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    void close();
  });
}
