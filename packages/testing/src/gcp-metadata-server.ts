import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { GoogleTokenSigner } from "./google-access-tokens";
import type { EntraError } from "./identity-responses";

/*
 * The Google Compute Engine metadata server, as far as google-auth-library reaches it: with
 * `GCE_METADATA_HOST=127.0.0.1:<port>`, gcp-metadata sends `GET http://<host>/computeMetadata/v1/<key>`
 * with `Metadata-Flavor: Google`, and checks that the answer carries that header too. Application
 * Default Credentials ping `instance` to detect the server, then the Compute client asks
 * `instance/service-accounts/default/token?scopes=...` for its access token; `getProjectId()` asks
 * `project/project-id`, `getCredentials()` `instance/service-accounts/default/email`, and
 * `getUniverseDomain()` `universe/universe-domain`.
 *
 * Values are answered as `application/text`, the token as JSON, errors as plain text, as the real
 * server does. Faults apply to the token endpoint only: detection and the other values stay
 * healthy, as the discovery documents do for the Entra endpoints.
 */

export interface MetadataServerContext {
  /** The service account attached to the emulated instance: `default`, and its email. */
  readonly serviceAccount: string;
  readonly projectId: string;
  /** The emulator's signer of Google access tokens, and how long they live. */
  readonly tokens: GoogleTokenSigner;
  readonly tokenLifetimeMs: number;
  /** Counts a token issued to `serviceAccount` (the emulator's tokensIssued counters). */
  countIssued(serviceAccount: string): void;
  /** The emulator's fault injection; true when the request was answered (or held) by a fault. */
  applyFaults(
    res: ServerResponse,
    fail: (failure: EntraError, headers?: Record<string, string>) => void,
  ): Promise<boolean>;
  count(outcome: string): void;
}

/** Where the metadata endpoints live; every path under it is the metadata server's. */
export const METADATA_PREFIX = "/computeMetadata/";

const VERSION_PREFIX = "/computeMetadata/v1/";
const UNIVERSE_DOMAIN = "googleapis.com";
const SERVICE_ACCOUNT_KEYS = ["aliases", "email", "identity", "scopes", "token"];

/** Answers a request under `/computeMetadata/`. */
export function createMetadataHandler(
  context: MetadataServerContext,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const refuse = (res: ServerResponse, outcome: string, status: number, text: string) => {
    context.count(outcome);
    sendMetadataText(res, status, text, "text/plain; charset=utf-8");
  };

  const handleToken = async (res: ServerResponse, url: URL) => {
    const fail = (failure: EntraError, headers: Record<string, string> = {}) =>
      sendMetadataText(res, failure.status, faultText(failure, headers), "text/plain", headers);
    if (await context.applyFaults(res, fail)) return;
    const scopes = (url.searchParams.get("scopes") ?? "")
      .split(",")
      .map((scope) => scope.trim())
      .filter((scope) => scope !== "");
    const { token } = context.tokens.issue({
      serviceAccount: context.serviceAccount,
      lifetimeMs: context.tokenLifetimeMs,
      scopes: scopes.length > 0 ? scopes : undefined,
    });
    context.countIssued(context.serviceAccount);
    context.count("ok");
    // Whole seconds, rounded down: the client's expiry (its clock when the answer arrives, plus
    // expires_in) is the token's give or take the answer's travel, and never a second later.
    const expiresIn = Math.floor(context.tokenLifetimeMs / 1000);
    sendMetadataText(
      res,
      200,
      JSON.stringify({ access_token: token, expires_in: expiresIn, token_type: "Bearer" }),
      "application/json",
    );
  };

  return async (req, res, url) => {
    req.resume();
    const path = url.pathname;
    if (req.method !== "GET") {
      return sendMetadataText(res, 405, "Method Not Allowed\n", "text/plain", { allow: "GET" });
    }
    if (headerValue(req, "metadata-flavor") !== "Google") {
      return refuse(
        res,
        "forbidden",
        403,
        `Your client does not have permission to get URL ${path} from this server. Missing Metadata-Flavor:Google header.\n`,
      );
    }
    const key = path.startsWith(VERSION_PREFIX)
      ? path.slice(VERSION_PREFIX.length).replace(/\/$/, "")
      : undefined;
    const account = /^instance\/service-accounts\/([^/]+)(?:\/([^/]+))?$/.exec(key ?? "");
    if (account !== null) {
      const name = decodeURIComponent(account[1]!);
      const item = account[2];
      if (name !== "default" && name !== context.serviceAccount) {
        return refuse(res, "not_found", 404, `Service account ${name} not found.\n`);
      }
      if (item === "token") return handleToken(res, url);
      const value = item === undefined ? directory(SERVICE_ACCOUNT_KEYS) : accountValue(item);
      if (value === undefined) return refuse(res, "not_found", 404, "Not Found\n");
      context.count("metadata");
      return sendMetadataText(res, 200, value, "application/text");
    }
    const value = key === undefined ? undefined : metadataValue(key, context);
    if (value === undefined) return refuse(res, "not_found", 404, "Not Found\n");
    context.count("metadata");
    sendMetadataText(res, 200, value, "application/text");
  };

  function accountValue(item: string): string | undefined {
    if (item === "email") return context.serviceAccount;
    if (item === "aliases") return "default";
    if (item === "scopes") return "https://www.googleapis.com/auth/cloud-platform\n";
    return undefined;
  }
}

/** The values and directory listings outside the service accounts' own keys. */
function metadataValue(key: string, context: MetadataServerContext): string | undefined {
  switch (key) {
    case "":
      return directory(["instance/", "project/", "universe/"]);
    case "instance":
      // The detection ping: any 200 with the flavor header says "on Google Cloud".
      return directory(["hostname", "id", "service-accounts/", "zone"]);
    case "instance/hostname":
      return "emulated-instance.c.internal";
    case "instance/id":
      return "1234567890123456789";
    case "instance/zone":
      return `projects/${context.projectId}/zones/us-central1-a`;
    case "instance/service-accounts":
      return directory(["default/", `${context.serviceAccount}/`]);
    case "project":
      return directory(["project-id"]);
    case "project/project-id":
      return context.projectId;
    case "universe":
      return directory(["universe-domain"]);
    case "universe/universe-domain":
      return UNIVERSE_DOMAIN;
    default:
      return undefined;
  }
}

const directory = (entries: string[]) => entries.map((entry) => `${entry}\n`).join("");

/** The plain-text body of an injected fault, in the metadata server's terse style. */
function faultText(failure: EntraError, headers: Record<string, string>): string {
  if (failure.status === 429) {
    return `Too Many Requests: retry after ${headers["retry-after"] ?? "a few"} seconds.\n`;
  }
  if (failure.status === 503) {
    return "Service Unavailable: the metadata server is temporarily unavailable.\n";
  }
  return `${STATUS_CODES[failure.status] ?? "Error"} (injected failure).\n`;
}

function sendMetadataText(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    // gcp-metadata refuses an answer without it: it proves the metadata server answered.
    "metadata-flavor": "Google",
    server: "Metadata Server for VM",
    ...headers,
  });
  res.end(body);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
