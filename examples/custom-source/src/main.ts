import { readFileSync } from "node:fs";
import { connectRedis } from "./redis-client";
import { tokenFileSource } from "./token-file-source";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name}: see README.md.`);
  return value;
}

const { redis, close } = await connectRedis({
  source: tokenFileSource({
    path: required("REDIS_TOKEN_FILE"),
    username: process.env.REDIS_USERNAME, // default: the token's oid claim
  }),
  redis: {
    host: required("REDIS_HOST"),
    port: Number(process.env.REDIS_PORT ?? 6379),
    ca: process.env.REDIS_CA_FILE ? readFileSync(process.env.REDIS_CA_FILE, "utf8") : undefined,
  },
});

const timer = setInterval(() => {
  redis
    .incr("visits")
    .then((visits) => console.log(`visit ${visits}`))
    .catch((error: Error) => console.error(`Redis: ${error.message}`));
}, 5_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    void close();
  });
}
