import {
  assertKnownOptions,
  assertTokenManager,
  type CredentialsBinding,
  InsecureTransportError,
  InvalidOptionsError,
  likelyMeant,
  type TokenManager,
} from "@redis-credentials/core";
import type { Cluster, Redis } from "ioredis";
import { assertAllowInsecureTransport } from "./assert-allow-insecure-transport";
import type { BindOptions } from "./factory-options";
import { bindingOf, IoredisBinding } from "./ioredis-binding";
import { usesTls } from "./ioredis-internals";
import type { IoredisLibrary } from "./ioredis-library";

/**
 * Keeps `client` authenticated with `manager`'s credentials: every connect and reconnect sends the
 * current ones, and new ones reach each live connection by AUTH before the old token expires —
 * cluster nodes, pub/sub subscribers and `duplicate()` copies included. Build the client with
 * `lazyConnect: true` and bind it before it connects, so that the first handshake is authenticated.
 * `library` supplies the classes the binding constructs (ioredis's or iovalkey's).
 * The binding ends with the client (`quit()`, `disconnect()`) or with `dispose()`.
 */
export function bindCredentials(
  library: IoredisLibrary,
  client: Redis | Cluster,
  manager: TokenManager,
  options: BindOptions = {},
): CredentialsBinding {
  if (typeof client !== "object" || client === null || typeof client.duplicate !== "function") {
    throw new InvalidOptionsError(
      "client",
      `must be an ${library.name} Redis or Cluster instance.`,
    );
  }
  assertTokenManager(manager, "bind a client");
  assertBindOptions(options);
  if (bindingOf(client) !== undefined) {
    throw new InvalidOptionsError(
      "client",
      "is already bound to a token manager (directly, or as a node, subscriber or duplicate of a bound client). Dispose that binding first.",
    );
  }
  assertTransport(client, options);
  const binding = new IoredisBinding(library, manager, options);
  binding.attach(client);
  return binding.group;
}

/** The options `bindCredentials` reads; anything else in them is a mistake. */
const bindOptionNames = ["allowInsecureTransport"] as const;

const bindSuggestions: Record<string, string> = {
  tls: "TLS is the client's option (`tls: {}` in its options), not the binding's.",
  username: "the token manager supplies credentials.",
  password: "the token manager supplies credentials.",
  onError: "refused credentials reach the client's `error` event; there is no `onError`.",
};

function assertBindOptions(options: unknown): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError("options", "must be an object: { allowInsecureTransport? }.");
  }
  assertKnownOptions(options, bindOptionNames, {
    ...bindSuggestions,
    ...likelyMeant(options, bindOptionNames),
  });
  assertAllowInsecureTransport(
    (options as BindOptions).allowInsecureTransport,
    "options.allowInsecureTransport",
  );
}

/** Refuses to bind a client that would send tokens in the clear, unless the caller allows it. */
function assertTransport(client: Redis | Cluster, options: BindOptions): void {
  if (options.allowInsecureTransport === true) return;
  if (client.isCluster) {
    if ((client as Cluster).options.redisOptions?.tls) return;
    throw new InsecureTransportError("a Redis Cluster");
  }
  const { host, port, sentinels, name } = (client as Redis).options;
  if (usesTls((client as Redis).options)) return;
  const target = sentinels
    ? `sentinel master "${name}" (through sentinel, tls needs enableTLSForSentinelMode)`
    : `${host ?? "localhost"}:${port ?? 6379}`;
  throw new InsecureTransportError(target);
}
