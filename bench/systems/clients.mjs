// The four client libraries, each connected two ways: bound to a token manager with our adapter,
// and plain, with a fixed user name and password. Ours and the plain floor use these, so that
// both make their clients alike and differ only in where the password comes from.

import { createRedis as createIoredis } from "@redis-credentials/ioredis";
import { createRedis as createIovalkey } from "@redis-credentials/iovalkey";
import { createClient as createNodeRedis } from "@redis-credentials/node-redis";
import { createGlideClient } from "@redis-credentials/valkey-glide";
import { GlideClient } from "@valkey/valkey-glide";
import { Redis as Ioredis } from "ioredis";
import { Redis as Iovalkey } from "iovalkey";
import { createClient as createBareNodeRedis } from "redis";

/**
 * GLIDE fails a command after 250 ms by default; on a busy benchmark machine that counts slow
 * commands as failures that have nothing to do with authentication. node-redis's own default.
 */
export const GLIDE_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Failures are counted where commands fail; an error event without a listener would only print
 * ioredis's "Unhandled error event" or, for node-redis, crash the process.
 */
const ignore = () => {};

/**
 * @typedef {{ host: string, port: number }} Target
 * @typedef {{ username: string, password: string }} StaticCredentials
 * @typedef {import("./fleet.mjs").Library & {
 *   bound: (manager: import("@redis-credentials/core").TokenManager, target: Target) => Promise<any>,
 *   plain: (target: Target, credentials: StaticCredentials) => Promise<any>,
 * }} ClientLibrary
 */

/** @type {ClientLibrary} */
const ioredis = {
  name: "ioredis",
  async bound(manager, target) {
    const redis = await createIoredis(manager, { ...target, allowInsecureTransport: true });
    return redis.on("error", ignore);
  },
  async plain(target, credentials) {
    const redis = new Ioredis({ ...target, ...credentials, lazyConnect: true }).on("error", ignore);
    await redis.connect();
    return redis;
  },
  close: (redis) => redis.disconnect(),
};

/** @type {ClientLibrary} */
const iovalkey = {
  name: "iovalkey",
  async bound(manager, target) {
    const client = await createIovalkey(manager, { ...target, allowInsecureTransport: true });
    return client.on("error", ignore);
  },
  async plain(target, credentials) {
    const client = new Iovalkey({ ...target, ...credentials, lazyConnect: true }).on(
      "error",
      ignore,
    );
    await client.connect();
    return client;
  },
  close: (client) => client.disconnect(),
};

/** @type {ClientLibrary} */
const nodeRedis = {
  name: "node-redis",
  bound(manager, target) {
    const client = createNodeRedis(manager, { socket: target, allowInsecureTransport: true });
    return client.on("error", ignore).connect();
  },
  plain(target, credentials) {
    return createBareNodeRedis({ socket: target, ...credentials })
      .on("error", ignore)
      .connect();
  },
  close: (client) => client.destroy(),
};

/** @type {ClientLibrary} */
const glide = {
  name: "valkey-glide",
  bound: (manager, target) =>
    createGlideClient(manager, {
      addresses: [target],
      requestTimeout: GLIDE_REQUEST_TIMEOUT_MS,
      allowInsecureTransport: true,
    }),
  plain: (target, credentials) =>
    GlideClient.createClient({
      addresses: [target],
      requestTimeout: GLIDE_REQUEST_TIMEOUT_MS,
      credentials,
    }),
  close: (client) => client.close(),
};

/** The libraries by the name systems give as their `client`, in the order systems are listed. */
export const libraries = {
  ioredis,
  "node-redis": nodeRedis,
  "valkey-glide": glide,
  iovalkey,
};
