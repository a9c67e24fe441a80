import {
  type AdapterUnderTest,
  adapterTestSuite,
  type SuiteClient,
} from "@redis-credentials/testing";
import type { Redis } from "ioredis";
import { createRedis } from "../../src";
import { clientName, ioredisMajor } from "./helpers";

// The guarantees every adapter keeps, run against ioredis through createRedis, as a user would.
// Runs once per jest project: `integration` (ioredis 6) and `integration-ioredis5`.

/** The suite's view of one ioredis client. */
function suiteClient(redis: Redis): SuiteClient {
  return {
    command: (name, ...args) => redis.call(name!, ...args),
    async subscribe(channel, onMessage) {
      redis.on("message", (from: string, message: string) => {
        if (from === channel) onMessage(message);
      });
      await redis.subscribe(channel);
    },
    async close() {
      if (redis.status === "end") return;
      const ended = new Promise<void>((resolve) => redis.once("end", () => resolve()));
      redis.disconnect();
      await ended;
    },
  };
}

const ioredis: AdapterUnderTest = {
  name: clientName,
  // ioredis 6 speaks RESP3 by default and RESP2 with `protocol: 2`; ioredis 5 only RESP2.
  protocols: ioredisMajor === 6 ? [3, 2] : [2],
  async connect(manager, target, { resp, allowInsecureTransport, onError }) {
    const redis = await createRedis(manager, {
      host: target.host,
      port: target.port,
      ...(target.tls && { tls: { ca: target.ca } }),
      ...(ioredisMajor === 6 && { protocol: resp }),
      allowInsecureTransport,
    });
    // createRedis reports errors before ready through its rejection; these are the later ones.
    redis.on("error", onError);
    return suiteClient(redis);
  },
};

adapterTestSuite({ test, expect, adapter: ioredis });
