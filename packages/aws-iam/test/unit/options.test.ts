import { inspect } from "node:util";
import { type AwsIamOptions, awsIam } from "@redis-credentials/aws-iam";
import { InvalidOptionsError } from "@redis-credentials/core";
import {
  ACCESS_KEY_ID,
  isolateAwsEnvironment,
  REGION,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  signatureVerifies,
} from "../aws-helpers";

isolateAwsEnvironment();

const valid = { userId: "orders-app", cacheName: "orders-cache", region: REGION };
const keys = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

function thrown(options: unknown): InvalidOptionsError {
  try {
    awsIam(options as AwsIamOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error("awsIam() accepted the options");
}

const bad: { title: string; options: unknown; option: string; message?: RegExp }[] = [
  { title: "no options", options: undefined, option: "options" },
  { title: "null", options: null, option: "options" },
  { title: "a string", options: "orders-cache", option: "options" },
  { title: "an array", options: [valid], option: "options" },
  { title: "no userId", options: { cacheName: "c", region: REGION }, option: "userId" },
  { title: "userId a number", options: { ...valid, userId: 42 }, option: "userId" },
  { title: "userId empty", options: { ...valid, userId: "" }, option: "userId" },
  { title: "userId blank", options: { ...valid, userId: "  " }, option: "userId" },
  { title: "userId with a space", options: { ...valid, userId: "orders app" }, option: "userId" },
  {
    title: "userId with a newline",
    options: { ...valid, userId: "orders\napp" },
    option: "userId",
  },
  { title: "no cacheName", options: { userId: "u", region: REGION }, option: "cacheName" },
  { title: "cacheName a number", options: { ...valid, cacheName: 7 }, option: "cacheName" },
  { title: "cacheName empty", options: { ...valid, cacheName: "" }, option: "cacheName" },
  {
    title: "cacheName an endpoint",
    options: { ...valid, cacheName: "master.orders-cache.abc123.euw1.cache.amazonaws.com" },
    option: "cacheName",
    message: /not an endpoint host name/,
  },
  {
    title: "cacheName with a slash",
    options: { ...valid, cacheName: "orders/cache" },
    option: "cacheName",
  },
  {
    title: "cacheName with a colon and port",
    options: { ...valid, cacheName: "orders:6379" },
    option: "cacheName",
  },
  { title: "region a number", options: { ...valid, region: 1 }, option: "region" },
  { title: "region empty", options: { ...valid, region: "" }, option: "region" },
  { title: "region in capitals", options: { ...valid, region: "EU-WEST-1" }, option: "region" },
  {
    title: "region a display name",
    options: { ...valid, region: "Europe (Ireland)" },
    option: "region",
  },
  {
    title: "no region anywhere",
    options: { userId: "u", cacheName: "c" },
    option: "region",
    message: /set `region`.*AWS_REGION/,
  },
  { title: "service unknown", options: { ...valid, service: "redis" }, option: "service" },
  {
    title: "service in capitals",
    options: { ...valid, service: "ElastiCache" },
    option: "service",
  },
  { title: "serverless a string", options: { ...valid, serverless: "yes" }, option: "serverless" },
  {
    title: "serverless MemoryDB",
    options: { ...valid, service: "memorydb", serverless: true },
    option: "serverless",
    message: /MemoryDB has no serverless/,
  },
  {
    title: "expiresInSeconds 0",
    options: { ...valid, expiresInSeconds: 0 },
    option: "expiresInSeconds",
  },
  {
    title: "expiresInSeconds 901",
    options: { ...valid, expiresInSeconds: 901 },
    option: "expiresInSeconds",
  },
  {
    title: "expiresInSeconds 1.5",
    options: { ...valid, expiresInSeconds: 1.5 },
    option: "expiresInSeconds",
  },
  {
    title: "expiresInSeconds NaN",
    options: { ...valid, expiresInSeconds: Number.NaN },
    option: "expiresInSeconds",
  },
  {
    title: "expiresInSeconds a string",
    options: { ...valid, expiresInSeconds: "900" },
    option: "expiresInSeconds",
  },
  {
    title: "credentials a string",
    options: { ...valid, credentials: ACCESS_KEY_ID },
    option: "credentials",
  },
  { title: "credentials null", options: { ...valid, credentials: null }, option: "credentials" },
  {
    title: "credentials an array",
    options: { ...valid, credentials: [keys] },
    option: "credentials",
  },
  { title: "credentials empty", options: { ...valid, credentials: {} }, option: "credentials" },
  {
    title: "credentials without secretAccessKey",
    options: { ...valid, credentials: { accessKeyId: ACCESS_KEY_ID, sessionToken: SESSION_TOKEN } },
    option: "credentials",
    message: /secretAccessKey is missing/,
  },
  {
    title: "credentials without accessKeyId",
    options: { ...valid, credentials: { secretAccessKey: SECRET_ACCESS_KEY } },
    option: "credentials",
    message: /accessKeyId is missing/,
  },
  {
    title: "credentials with an empty accessKeyId",
    options: { ...valid, credentials: { ...keys, accessKeyId: "" } },
    option: "credentials",
  },
  {
    title: "credentials with a numeric sessionToken",
    options: { ...valid, credentials: { ...keys, sessionToken: 1 } },
    option: "credentials",
  },
  {
    title: "credentials with a string expiration",
    options: { ...valid, credentials: { ...keys, expiration: "2030-01-01" } },
    option: "credentials",
  },
  {
    title: "credentials with an invalid Date",
    options: { ...valid, credentials: { ...keys, expiration: new Date(Number.NaN) } },
    option: "credentials",
  },
  {
    title: "credentials already expired",
    options: { ...valid, credentials: { ...keys, expiration: new Date(Date.now() - 1_000) } },
    option: "credentials",
    message: /expired at .*pass a credential provider/,
  },
  {
    title: "an unknown option",
    options: { ...valid, ttl: 900 },
    option: "ttl",
    message:
      /The options are userId, cacheName, region, serverless, service, credentials, expiresInSeconds/,
  },
  {
    title: "username (the user name is the user id)",
    options: { ...valid, username: "orders-app" },
    option: "username",
    message: /always the user id/,
  },
  {
    title: "clusterName (Valkey GLIDE's name for it)",
    options: { ...valid, clusterName: "orders-cache" },
    option: "clusterName",
    message: /`cacheName`/,
  },
];

test.each(bad)("$title: InvalidOptionsError naming `$option`", ({ options, option, message }) => {
  const error = thrown(options);
  expect(error.option).toBe(option);
  expect(error.name).toBe("InvalidOptionsError");
  expect(error.message).toContain(`\`${option}\``);
  if (message) expect(error.message).toMatch(message);
  // Never the secrets it was given.
  for (const text of [error.message, String(error), inspect(error)]) {
    expect(text).not.toContain(SECRET_ACCESS_KEY);
    expect(text).not.toContain(SESSION_TOKEN);
  }
});

test("AWS_REGION that is no region name: the error names the variable", () => {
  process.env.AWS_REGION = "ireland";
  const error = thrown({ userId: "u", cacheName: "c" });
  expect(error.option).toBe("region");
  expect(error.message).toContain("AWS_REGION");
});

test.each<{ title: string; options: AwsIamOptions; name: string }>([
  { title: "ElastiCache", options: valid, name: "aws-iam(elasticache:orders-cache)" },
  {
    title: "ElastiCache Serverless",
    options: { ...valid, serverless: true },
    name: "aws-iam(elasticache:orders-cache)",
  },
  {
    title: "MemoryDB",
    options: { ...valid, cacheName: "orders-db", service: "memorydb", serverless: false },
    name: "aws-iam(memorydb:orders-db)",
  },
  {
    title: "the shortest and longest validity, a provider",
    options: { ...valid, expiresInSeconds: 1, credentials: async () => keys },
    name: "aws-iam(elasticache:orders-cache)",
  },
  {
    title: "undefined optional values",
    options: {
      ...valid,
      expiresInSeconds: 900,
      region: undefined,
      serverless: undefined,
      service: undefined,
      credentials: undefined,
    } as unknown as AwsIamOptions,
    name: "aws-iam(elasticache:orders-cache)",
  },
])("accepted: $title, named $name", ({ options, name }) => {
  process.env.AWS_REGION = REGION;
  expect(awsIam(options).name).toBe(name);
});

test("the source shows no secret: not in its name, util.inspect or JSON.stringify", () => {
  const source = awsIam({
    ...valid,
    credentials: {
      ...keys,
      sessionToken: SESSION_TOKEN,
      expiration: new Date(Date.now() + 3_600_000),
    },
  });
  for (const text of [
    source.name,
    inspect(source, { depth: 10, showHidden: true }),
    JSON.stringify(source),
  ]) {
    expect(text).not.toContain(SECRET_ACCESS_KEY);
    expect(text).not.toContain(SESSION_TOKEN);
  }
  expect(Object.keys(source).sort()).toEqual(["fetch", "name"]);
  expect(Object.isFrozen(source)).toBe(true);
});

test("the options are read once: changing the identity object afterwards changes nothing", async () => {
  const credentials = { ...keys };
  const source = awsIam({ ...valid, credentials });
  credentials.secretAccessKey = "changed";
  const { password } = await source.fetch({
    signal: new AbortController().signal,
    reason: "initial",
  });
  expect(signatureVerifies(password, SECRET_ACCESS_KEY)).toBe(true);
});
