import type { LookupAddress } from "node:dns";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { describeCertificate, untrustedCertificate } from "./certificate";
import type { HostLookup } from "./doctor-options";
import type { RedisConnection } from "./redis-connection";
import { replyText } from "./resp";
import { StepFailure } from "./step-errors";

/** What a step found, and what the next step needs from it. */
export interface StepResult<T> {
  readonly detail: string;
  readonly value: T;
}

/** The dns step: the host's addresses (an IP address is its own). */
export async function resolveHost(
  host: string,
  lookup: HostLookup,
): Promise<StepResult<readonly LookupAddress[]>> {
  const family = isIP(host);
  if (family !== 0) {
    return {
      detail: `${host} is an IP address: nothing to resolve`,
      value: [{ address: host, family }],
    };
  }
  const addresses = await lookup(host);
  if (addresses.length === 0) {
    throw Object.assign(new Error(`${host} resolved to no address`), { code: "ENOTFOUND" });
  }
  const listed = addresses.map(
    ({ address }) => `${address}${isPrivateAddress(address) ? " (private)" : ""}`,
  );
  return { detail: `${host} → ${listed.join(", ")}`, value: addresses };
}

/** The tcp step: the first address that accepts a connection, tried in the order DNS gave them. */
export async function connectTcp(
  addresses: readonly LookupAddress[],
  port: number,
  signal: AbortSignal,
): Promise<StepResult<Socket>> {
  const refusals: string[] = [];
  let firstError: (Error & { code?: string }) | undefined;
  for (const { address } of addresses) {
    try {
      const socket = await connectOne(address, port, signal);
      const before = refusals.length > 0 ? ` (after ${refusals.join("; ")})` : "";
      return { detail: `connected to ${hostPort(address, port)}${before}`, value: socket };
    } catch (error) {
      if (signal.aborted) throw error;
      firstError ??= error as Error;
      refusals.push(
        `${hostPort(address, port)}: ${(error as { code?: string }).code ?? (error as Error).message}`,
      );
    }
  }
  if (addresses.length > 1 && firstError !== undefined) {
    throw Object.assign(new Error(`no address accepted the connection: ${refusals.join("; ")}`), {
      code: firstError.code,
    });
  }
  throw firstError;
}

function connectOne(address: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: address, port });
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(error);
    });
  });
}

/**
 * The tls step: the handshake over the connected socket, with the server's certificate checked
 * against `ca` (or Node.js's trust store) and the host name. A certificate that does not verify
 * fails the step with what it says (the connection is closed: no token goes to that server).
 */
export function startTls(
  socket: Socket,
  options: { host: string; servername: string | undefined; ca: string | undefined },
  signal: AbortSignal,
): Promise<StepResult<TLSSocket>> {
  return new Promise((resolve, reject) => {
    const tlsSocket = tlsConnect({
      socket,
      host: options.host,
      ...(options.servername !== undefined && { servername: options.servername }),
      ...(options.ca !== undefined && { ca: options.ca }),
      // Checked below, so that a refusal can say what the certificate is.
      rejectUnauthorized: false,
    });
    const onAbort = () => {
      tlsSocket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    tlsSocket.once("secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      tlsSocket.removeAllListeners("error");
      const certificate = tlsSocket.getPeerCertificate();
      const trust = options.ca !== undefined ? "the CA given (--ca)" : "Node.js's trust store";
      if (!tlsSocket.authorized) {
        tlsSocket.destroy();
        const code = String(tlsSocket.authorizationError ?? "UNKNOWN");
        reject(untrustedCertificate(code, certificate, options, trust));
        return;
      }
      const described = describeCertificate(certificate);
      resolve({
        detail: `${tlsSocket.getProtocol() ?? "TLS"}, ${described}; verified against ${trust} for ${options.servername ?? options.host}`,
        value: tlsSocket,
      });
    });
    tlsSocket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      tlsSocket.destroy();
      reject(error);
    });
  });
}

/**
 * The tls step with `--no-tls`: a PING before any token is sent, to see that the server speaks
 * plain RESP on this port (a TLS port answers with a TLS alert, or closes).
 */
export async function probePlaintext(
  connection: RedisConnection,
  signal: AbortSignal,
): Promise<StepResult<undefined>> {
  const reply = await connection.command(["PING"], signal);
  return {
    detail: `plaintext (--no-tls): the server answers RESP in clear (PING: ${replyText(reply)}); the token will cross the network unencrypted`,
    value: undefined,
  };
}

/** A host name for SNI and the certificate check: none for an IP address (RFC 6066). */
export function serverNameFor(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}

export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A private (RFC 1918, unique local) or loopback address: a private endpoint, a VPC, this machine. */
export function isPrivateAddress(address: string): boolean {
  return (
    /^(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(address) ||
    /^(::1$|f[cd][0-9a-f]{2}:)/i.test(address)
  );
}

/** Wraps a failure of the plaintext probe: the port most likely speaks TLS. */
export function plaintextRefused(error: unknown): StepFailure {
  const what = error instanceof Error ? error.message : String(error);
  return new StepFailure(
    `plaintext (--no-tls): the server did not answer RESP in clear: ${what}`,
    "This port speaks TLS (every cloud cache does for token authentication): drop --no-tls, and pass --ca FILE if the server's CA is a private one.",
  );
}
