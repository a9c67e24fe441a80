import {
  assertNoCredentialOptions,
  assertNoMisspeltOptions,
  assertTokenManager,
  InvalidOptionsError,
  type TokenManager,
} from "@redis-credentials/core";
import type { BaseClient, BaseClientConfiguration } from "@valkey/valkey-glide";
import { rememberBinding } from "./binding-of";
import type { GlideAdapterOptions } from "./glide-adapter-options";
import { GlideConnection } from "./glide-connection";
import { refusalReply } from "./refusal-reply";

/** The adapter's own keys in the configuration it shares with GLIDE (`GlideAdapterOptions`). */
const adapterOptionNames = ["allowInsecureTransport", "onError"];

/**
 * How long the first connect waits for the manager's first credentials when GLIDE's
 * `connectionTimeout` is not set: GLIDE's own default (2 s) is meant for a TCP connect, and an
 * identity provider's first token often takes longer.
 */
const FIRST_CREDENTIALS_TIMEOUT_MS = 10_000;

/**
 * Creates a GLIDE client with `manager`'s current credentials and binds it: every new credential
 * reaches it as one password update, until it is closed or its binding disposed.
 */
export async function connectBound<C extends BaseClient, O extends BaseClientConfiguration>(
  manager: TokenManager,
  config: O & GlideAdapterOptions,
  operation: string,
  create: (config: O) => Promise<C>,
): Promise<C> {
  assertTokenManager(manager, operation);
  assertNoCredentialOptions(config, "config", ["credentials"]);
  assertNoMisspeltOptions(config, adapterOptionNames, "config", "GLIDE");
  const { allowInsecureTransport = false, onError = () => {}, ...glideConfig } = config;
  if (typeof onError !== "function") {
    throw new InvalidOptionsError("config.onError", "must be a function.");
  }
  if (!Array.isArray(glideConfig.addresses) || glideConfig.addresses.length === 0) {
    throw new InvalidOptionsError("config.addresses", "must list at least one { host, port }.");
  }
  const target = glideConfig.addresses
    .map(({ host, port }) => `${host}:${port ?? 6379}`)
    .join(", ");
  const connection = new GlideConnection(
    manager,
    {
      target,
      connectTimeoutMs:
        (glideConfig as { advancedConfiguration?: { connectionTimeout?: number } })
          .advancedConfiguration?.connectionTimeout ?? FIRST_CREDENTIALS_TIMEOUT_MS,
      allowInsecureTransport,
    },
    onError,
  );
  connection.group.assertTransport(glideConfig.useTLS === true, target);
  const { session } = connection;
  for (;;) {
    let presented: { username: string; password: string };
    let client: C;
    try {
      // After a refused attempt: one forced refresh, then (thrown here) CredentialsRejectedError.
      const { username, password } = await session.handshakeCredentials();
      presented = { username, password };
      client = await create({
        ...glideConfig,
        credentials: hiddenPassword(username, password),
      } as unknown as O);
    } catch (error) {
      const refusal = refusalReply(error);
      if (refusal === undefined) {
        session.end();
        throw error;
      }
      session.handshakeRefused(refusal);
      continue;
    }
    connection.attach(client, presented);
    rememberBinding(client, connection.group);
    return client;
  }
}

/** GLIDE keeps its configuration on the client: the token must not show when it is inspected. */
function hiddenPassword(username: string, password: string) {
  return Object.defineProperty({ username }, "password", { value: password, enumerable: false });
}
