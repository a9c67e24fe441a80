import {
  ConnectionSession,
  type CredentialsBinding,
  SessionGroup,
  type TokenManager,
} from "../../src";
import type { ToyClient } from "./toy-client";

/** Keeps a ToyClient authenticated with `manager`'s credentials, across rotations and reconnects. */
export function bindToyClient(client: ToyClient, manager: TokenManager): CredentialsBinding {
  const group = new SessionGroup(manager, { allowInsecureTransport: true });
  const session = new ConnectionSession(group, {
    target: client.address,
    connectTimeoutMs: 5_000,
    connectionState: () => (client.closed ? "ended" : client.ready ? "ready" : "connecting"),
    sendAuth: (credentials) => client.command("AUTH", credentials.username, credentials.password),
    reconnect: () => void client.reconnect(),
    reportError: (error) => client.emit("error", error),
  });
  // Every handshake presents what the session chooses: current credentials, or after a refusal
  // freshly fetched ones; new credentials later reach the live connection as AUTH.
  client.credentials = (signal) => session.handshakeCredentials(signal);
  client.on("ready", () => session.ready());
  client.on("auth-refused", (error) => {
    session.handshakeRefused(error);
    void client.reconnect();
  });
  client.on("end", () => session.end());
  return group; // status() and dispose()
}
