import { awsIam } from "@redis-credentials/aws-iam";
import { fetchOnce, REGION } from "../aws-helpers";

// What `fromNodeProviderChain` is asked for, and how often, with the SDK itself out of the way.
const mockSdk = { loads: 0, chains: [] as unknown[], calls: [] as unknown[] };
jest.mock("@aws-sdk/credential-providers", () => {
  mockSdk.loads++;
  return {
    fromNodeProviderChain: (init: unknown) => {
      mockSdk.chains.push(init);
      return async (properties?: unknown) => {
        mockSdk.calls.push(properties);
        return { accessKeyId: "AKIACHAINEXAMPLE", secretAccessKey: "chain-secret" };
      };
    },
  };
});

const options = { userId: "u", cacheName: "c", region: REGION };

test("with `credentials`, the SDK's credential-providers package is never loaded", async () => {
  await fetchOnce(
    awsIam({ ...options, credentials: async () => ({ accessKeyId: "a", secretAccessKey: "b" }) }),
  );
  await fetchOnce(awsIam({ ...options, credentials: { accessKeyId: "a", secretAccessKey: "b" } }));
  expect(mockSdk.loads).toBe(0);
});

test("without: loaded at the first fetch, not before; one chain per source, asked at every fetch", async () => {
  const source = awsIam(options);
  expect(mockSdk.loads).toBe(0);
  await fetchOnce(source);
  await fetchOnce(source, { reason: "scheduled" });
  await fetchOnce(source, { reason: "forced" });
  expect(mockSdk.loads).toBe(1);
  expect(mockSdk.chains).toHaveLength(1);
  // A logger (to tell why the chain failed), nothing else: the SDK's defaults otherwise.
  expect(Object.keys(mockSdk.chains[0] as object)).toEqual(["logger"]);
  expect(mockSdk.calls).toEqual([undefined, undefined, { forceRefresh: true }]);
  await fetchOnce(awsIam(options));
  expect(mockSdk.chains).toHaveLength(2);
});

test("concurrent first fetches share the one chain", async () => {
  const source = awsIam(options);
  const before = mockSdk.chains.length;
  await Promise.all([fetchOnce(source), fetchOnce(source), fetchOnce(source)]);
  expect(mockSdk.chains.length - before).toBe(1);
});
