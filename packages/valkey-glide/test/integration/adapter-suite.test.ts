import {
  type AdapterUnderTest,
  adapterTestSuite,
  type SuiteClient,
} from "@redis-credentials/testing";
import { type GlideClient, ProtocolVersion } from "@valkey/valkey-glide";
import { createGlideClient } from "../../src";

// The guarantees every adapter keeps, run against GLIDE through createGlideClient, as a user
// would. RESP3 only: GLIDE refuses pub/sub on RESP2 (ConfigurationError), so the suite's RESP2
// subscriber test cannot apply; RESP2 without pub/sub is covered in rotations.test.ts.

/** The suite's view of one GLIDE client. */
function suiteClient(client: GlideClient): SuiteClient {
  let closed = false;
  return {
    command: (...args) => client.customCommand(args),
    async subscribe(channel, onMessage) {
      await client.subscribe(new Set([channel]), 5_000);
      void (async () => {
        // Messages of dynamic subscriptions wait in GLIDE's queue when no callback was configured.
        while (!closed) {
          const message = await client.getPubSubMessage().catch(() => undefined);
          if (message !== undefined) onMessage(String(message.message));
        }
      })();
    },
    async close() {
      closed = true;
      client.close();
    },
  };
}

const glide: AdapterUnderTest = {
  name: "valkey-glide",
  protocols: [3],
  async connect(manager, target, { resp, allowInsecureTransport, onError }) {
    const client = await createGlideClient(manager, {
      addresses: [{ host: target.host, port: target.port }],
      useTLS: target.tls,
      advancedConfiguration: {
        // GLIDE's 2 s connect timeout fails a connect now and then when the suite's concurrent
        // tests (20 clients in one of them) run on a loaded machine.
        connectionTimeout: 5_000,
        ...(target.ca !== undefined && {
          tlsAdvancedConfiguration: { rootCertificates: target.ca },
        }),
      },
      protocol: resp === 3 ? ProtocolVersion.RESP3 : ProtocolVersion.RESP2,
      // GLIDE's 250 ms default is short for a loaded test machine running TLS servers.
      requestTimeout: 5_000,
      allowInsecureTransport,
      onError,
    });
    return suiteClient(client);
  },
};

adapterTestSuite({ test, expect, adapter: glide });
