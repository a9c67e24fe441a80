// Ours against ElastiCache IAM: each client library bound with our adapter to a token manager over
// @redis-credentials/aws-iam, signing with the credentials the AWS-mode Redis accepts.

import { awsIam } from "@redis-credentials/aws-iam";
import { createTokenManager } from "@redis-credentials/core";
import { AWS } from "../environment.mjs";
import { libraries } from "./clients.mjs";
import { openFleet } from "./fleet.mjs";

/**
 * The fleet's own manager. Tokens are signed locally, so there are no token requests to count;
 * `tokenSeconds` shortens the tokens, and with them the time between re-AUTHs, to fit a
 * scaled-down connection lifetime (the manager refreshes well before a token expires).
 * @param {import("./system.mjs").OpenOptions} options
 */
function ownManager({ tokenSeconds, sourceOptions, managerOptions }) {
  const source = awsIam({
    userId: AWS.userId,
    cacheName: AWS.cacheName,
    region: AWS.region,
    credentials: AWS.credentials,
    ...(tokenSeconds === undefined ? {} : { expiresInSeconds: tokenSeconds }),
    ...sourceOptions,
  });
  return createTokenManager(source, managerOptions);
}

/**
 * @param {keyof typeof libraries} client
 * @returns {import("./system.mjs").System}
 */
function oursAwsSystem(client) {
  const library = libraries[client];
  return {
    name: `ours · ${client} (awsIam)`,
    client,
    kind: "ours",
    mode: "aws",
    async open(env, count, options = {}) {
      const own = options.manager ? undefined : ownManager(options);
      const manager = options.manager ?? own;
      return openFleet({
        count,
        library,
        connect: () => library.bound(manager, env.target),
        cleanup: () => own?.dispose(),
      });
    },
  };
}

/** Ours with ioredis, on AWS IAM. */
export const oursIoredisAws = oursAwsSystem("ioredis");
/** Ours with node-redis, on AWS IAM. */
export const oursNodeRedisAws = oursAwsSystem("node-redis");
/** Ours with Valkey GLIDE, on AWS IAM. */
export const oursGlideAws = oursAwsSystem("valkey-glide");
