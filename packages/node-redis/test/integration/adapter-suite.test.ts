import {
  type AdapterUnderTest,
  adapterTestSuite,
  type SuiteClient,
} from "@redis-credentials/testing";
import type { RedisClientType } from "redis";
import { createClient } from "../../src";
import { nodeRedisMajor } from "./helpers";

// The guarantees every adapter keeps, run against node-redis through createClient, as a user
// would. Runs once per jest project: `integration` (node-redis 6) and `integration-node-redis5`.

/** The suite's view of one node-redis client. */
function suiteClient(client: RedisClientType<any, any, any, any, any>): SuiteClient {
  return {
    command: (...args) => client.sendCommand(args),
    async subscribe(channel, onMessage) {
      await client.subscribe(channel, (message: string) => onMessage(message));
    },
    async close() {
      if (client.isOpen) client.destroy();
    },
  };
}

const nodeRedis: AdapterUnderTest = {
  name: `node-redis ${nodeRedisMajor}`,
  protocols: [3, 2],
  async connect(manager, target, { resp, allowInsecureTransport, onError }) {
    const client = createClient(manager, {
      socket: {
        host: target.host,
        port: target.port,
        ...(target.tls && { tls: true as const, ca: target.ca }),
      },
      RESP: resp,
      allowInsecureTransport,
    });
    client.on("error", onError);
    try {
      await client.connect();
    } catch (error) {
      // node-redis 5 throws ClientClosedError from destroy() on a client that is not open.
      if (client.isOpen) client.destroy();
      throw error;
    }
    return suiteClient(client);
  },
};

adapterTestSuite({ test, expect, adapter: nodeRedis });
