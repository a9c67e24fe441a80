import type { TokenRedis } from "@redis-credentials/testing";

/** GLIDE's configuration for a token-enforcing Redis started with TLS (the default). */
export function tlsConfig(server: TokenRedis) {
  return {
    addresses: [{ host: server.host, port: server.port }],
    useTLS: true,
    advancedConfiguration: { tlsAdvancedConfiguration: { rootCertificates: server.ca! } },
    // GLIDE's 250 ms default is short for a loaded test machine running TLS servers.
    requestTimeout: 2_000,
  };
}

/** The server's live connections, grouped by whether their token was ever renewed. */
export function renewal(server: TokenRedis) {
  const connections = server.connections();
  return {
    connections: connections.length,
    reauthenticated: connections.filter((c) => c.authSuccesses > 1).length,
    neverReauthenticated: connections.filter((c) => c.authSuccesses <= 1).length,
  };
}
