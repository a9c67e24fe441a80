// Valkey GLIDE's built-in ElastiCache IAM (`credentials.iamConfig`, GLIDE 2.2+): its Rust core
// signs the tokens with the AWS SDK for Rust's default credential chain, and it re-signs one every
// `refreshIntervalSeconds`, but hands a new token only to connections made after it: live
// connections keep the AUTH they opened with, and AWS drops them at its lifetime limit.

import { GlideClient, ServiceType } from "@valkey/valkey-glide";
import { AWS } from "../environment.mjs";
import { GLIDE_REQUEST_TIMEOUT_MS } from "./clients.mjs";
import { openFleet } from "./fleet.mjs";

/**
 * GLIDE takes no credentials object: its Rust core reads them from the process environment (the
 * default chain's first link), which setting process.env changes for the whole process. Unset
 * AWS_SESSION_TOKEN, as a stray one would be signed into the tokens and refused.
 */
const AWS_ENVIRONMENT = {
  AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
  AWS_REGION: AWS.region,
  AWS_SESSION_TOKEN: undefined,
};

let fleetsUsingEnvironment = 0;
/** @type {Record<string, string | undefined>} */
let savedEnvironment = {};

/** Sets AWS_ENVIRONMENT for the first fleet that needs it. */
function acquireEnvironment() {
  if (fleetsUsingEnvironment++ > 0) return;
  savedEnvironment = {};
  for (const [name, value] of Object.entries(AWS_ENVIRONMENT)) {
    savedEnvironment[name] = process.env[name];
    setVariable(name, value);
  }
}

/** Restores what was there once the last fleet is closed: GLIDE re-signs until its client closes. */
function releaseEnvironment() {
  if (--fleetsUsingEnvironment > 0) return;
  for (const [name, value] of Object.entries(savedEnvironment)) setVariable(name, value);
}

function setVariable(name, value) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * @param {{ host: string, port: number }} target
 * @param {number | undefined} refreshIntervalSeconds `tokenSeconds`: GLIDE signs a new token this
 *   often (its own tokens are always valid 15 minutes, longer than any scaled-down lifetime).
 */
function glideIamClient(target, refreshIntervalSeconds) {
  return GlideClient.createClient({
    addresses: [target],
    requestTimeout: GLIDE_REQUEST_TIMEOUT_MS,
    credentials: {
      username: AWS.userId,
      iamConfig: {
        clusterName: AWS.cacheName,
        service: ServiceType.Elasticache,
        region: AWS.region,
        refreshIntervalSeconds,
      },
    },
  });
}

/** GLIDE's iamConfig. @type {import("./system.mjs").System} */
export const system = {
  name: "GLIDE iamConfig · valkey-glide",
  client: "valkey-glide",
  kind: "alternative",
  mode: "aws",
  async open(env, count, options = {}) {
    acquireEnvironment();
    return openFleet({
      count,
      library: { name: "valkey-glide", close: (client) => client.close() },
      connect: () => glideIamClient(env.target, options.tokenSeconds),
      cleanup: releaseEnvironment,
    });
  },
};
