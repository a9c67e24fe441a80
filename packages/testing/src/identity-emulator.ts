import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { InvalidOptionsError } from "@redis-credentials/core";
import { createCertificateAuthority } from "./certificates";
import { createMetadataHandler, METADATA_PREFIX } from "./gcp-metadata-server";
import { createGoogleTokenSigner, type GoogleTokenVerification } from "./google-access-tokens";
import {
  assertOptions,
  type ClientRecord,
  Directory,
  type ManagedIdentity,
  optionalLifetime,
  optionalString,
  type RegisterClientOptions,
  type RegisteredClient,
  type RegisterManagedIdentityOptions,
} from "./identity-clients";
import { FaultController, type IdentityFaults } from "./identity-faults";
import {
  type EntraError,
  entraErrors,
  type ImdsError,
  imdsErrors,
  sendEntraError,
  sendImdsError,
  sendJson,
} from "./identity-responses";
import {
  DEFAULT_TENANT_ID,
  type IssueTokenOptions,
  parseJwt,
  startTokenIssuer,
  type TokenIssuer,
} from "./token-issuer";

export type {
  ManagedIdentity,
  RegisterClientOptions,
  RegisteredClient,
  RegisterManagedIdentityOptions,
} from "./identity-clients";
export type { IdentityFaults } from "./identity-faults";

export interface IdentityEmulatorOptions {
  /** Lifetime of the tokens it issues, unless a client or identity sets its own. @default 3_600_000 */
  tokenLifetimeMs?: number;
  /** The `aud` of its tokens; the scope `<audience>/.default` asks for them. @default 'https://redis.azure.com' */
  audience?: string;
  /** The emulated tenant's id: the `tid` claim and the path segment of its endpoints. @default '72f988bf-86f1-41af-91ab-2d7cd011db47' */
  tenantId?: string;
  /**
   * Also listen over plain HTTP, where `ManagedIdentityCredential` expects IMDS. Without it,
   * `managedIdentityEndpoint` is the HTTPS origin and the credential must trust `ca`.
   * @default true
   */
  http?: boolean;
  /**
   * The email of the service account attached to the emulated Compute Engine instance: the one
   * whose tokens its metadata server hands out (as `default`), and the Redis user in GCP mode.
   * @default 'redis-client@emulator-project.iam.gserviceaccount.com'
   */
  googleServiceAccount?: string;
  /** The project id the metadata server reports (`project/project-id`). @default 'emulator-project' */
  googleProjectId?: string;
}

/** Options of `issueGoogleAccessToken`. */
export interface IssueGoogleAccessTokenOptions {
  /** The service account (email) the token belongs to. @default the emulator's googleServiceAccount */
  serviceAccount?: string;
  /** @default the emulator's tokenLifetimeMs */
  lifetimeMs?: number;
}

/**
 * Counters since start.
 *
 * `requests` counts token requests (the Entra token endpoint, the managed-identity endpoint and
 * the metadata server's token endpoint) by outcome: `ok`; refusals by their OAuth/IMDS error
 * (`unauthorized_client`, `invalid_client`, `invalid_scope`, `invalid_request`,
 * `unsupported_grant_type`, `invalid_resource`); injected faults (`outage`, `throttled`,
 * `failed`, `hung`). `discovery` counts OpenID configuration and JWKS requests, `metadata` the
 * metadata server's other answers (detection ping, email, project id, universe domain),
 * `forbidden` metadata requests without `Metadata-Flavor: Google`, `not_found` requests to no
 * endpoint (or for an unknown service account). Keys appear at their first count.
 */
export interface IdentityEmulatorStats {
  /** Tokens issued by the token endpoints (not by `issueToken` or `issueGoogleAccessToken`). */
  tokensIssued: number;
  /**
   * The same, by client id (a managed identity's client id for managed identities, the service
   * account's email for Google access tokens).
   */
  tokensIssuedByClient: Record<string, number>;
  requests: Record<string, number>;
}

/**
 * A local Microsoft Entra ID: the identity platform v2.0 endpoints `ClientSecretCredential`
 * and `ClientCertificateCredential` use, an IMDS endpoint for `ManagedIdentityCredential`,
 * and the signing keys the token-enforcing Redis verifies against (it is a `TokenIssuer`).
 * Also a Google Compute Engine metadata server, whose access tokens google-auth-library gets
 * with `GCE_METADATA_HOST = idp.gceMetadataHost` (the token-enforcing Redis's GCP mode checks them).
 *
 * Construct `@azure/identity` credentials against it like this:
 * ```ts
 * new ClientSecretCredential(idp.tenantId, clientId, clientSecret, {
 *   authorityHost: idp.authorityHost,
 *   disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
 *   tlsOptions: { ca: idp.ca },
 * });
 * ```
 */
export interface IdentityEmulator extends TokenIssuer, AsyncDisposable {
  /** `https://127.0.0.1:<port>`: pass as `authorityHost` to `@azure/identity` credentials. */
  readonly authorityHost: string;
  /**
   * PEM of the CA that signed the emulator's certificate. Trust it in-process through the
   * credential's options, `tlsOptions: { ca: idp.ca }` (every `@azure/identity` credential
   * takes it; it replaces the default CAs for that credential's requests only). The
   * `NODE_EXTRA_CA_CERTS=<file>` environment variable also works, but Node reads it at
   * process start only, so it fits a child process, not the test's own.
   */
  readonly ca: string;
  /**
   * Origin of the IMDS-style endpoint (`GET /metadata/identity/oauth2/token`), for
   * `ManagedIdentityCredential`: `http://127.0.0.1:<port>` (the HTTPS origin with `http: false`).
   * Set it before the first `ManagedIdentityCredential.getToken` of the process:
   * ```ts
   * process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = idp.managedIdentityEndpoint;
   * const credential = new ManagedIdentityCredential(); // or (clientId) for a user-assigned identity
   * ```
   * MSAL picks the managed-identity source, and with it this URL, once per loaded copy of
   * `@azure/msal-node` (a static), so a later emulator on another port is not seen by the
   * same process; jest gives each test file its own module registry, hence one emulator
   * per test file for managed identity. No other managed-identity variable
   * (`IDENTITY_ENDPOINT`, `MSI_ENDPOINT`, `IDENTITY_SERVER_THUMBPRINT`, ...) may be set.
   */
  readonly managedIdentityEndpoint: string;
  /**
   * `127.0.0.1:<port>` of the Google Compute Engine metadata server (`/computeMetadata/v1/...`)
   * on the plain-HTTP listener (`https://127.0.0.1:<port>` with `http: false`). Point
   * google-auth-library at it before its first request of the process, and keep every other
   * Google credential out of its way:
   * ```ts
   * process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
   * delete process.env.GOOGLE_APPLICATION_CREDENTIALS; // and no gcloud login under $HOME
   * const client = await new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getClient();
   * const { token } = await client.getAccessToken(); // the emulator's, for idp.googleServiceAccount
   * ```
   * gcp-metadata reads the variable at every request, but caches its detection of the metadata
   * server (the first `instance` ping) once per loaded copy, i.e. per jest file.
   */
  readonly gceMetadataHost: string;
  /** The email of the service account the metadata server hands out tokens of. */
  readonly googleServiceAccount: string;
  /** The project id the metadata server reports. */
  readonly googleProjectId: string;
  /** Injects failures into token requests at run time (the metadata server's included). */
  readonly faults: IdentityFaults;
  /** Registers an app (service principal) that may get tokens with a secret or a certificate. */
  registerClient(options?: RegisterClientOptions): RegisteredClient;
  /**
   * Registers a user-assigned managed identity (or, with `systemAssigned: true`, replaces the
   * system-assigned one, which exists from the start with generated ids).
   */
  registerManagedIdentity(options?: RegisterManagedIdentityOptions): ManagedIdentity;
  /** Signs a token straight, without a request (and without counting it). */
  issueToken(options: IssueTokenOptions): string;
  /**
   * A Google access token (`ya29.…`) straight, without a request (and without counting it): of
   * `googleServiceAccount` unless `serviceAccount` is given, for the cloud-platform scope.
   */
  issueGoogleAccessToken(options?: IssueGoogleAccessTokenOptions): string;
  /**
   * Checks a Google access token the emulator issued: its signature (the emulator's own key) and
   * its expiry at `now` (epoch ms) → `{ ok: true, claims }` (`oid` and `sub`: the service
   * account), or `{ ok: false, reason }` (`malformed`, `signature`, `expired`). Tokens carry their
   * claims and a MAC, so the emulator keeps no list of them.
   */
  verifyGoogleAccessToken(token: string, options?: { now?: number }): GoogleTokenVerification;
  stats(): IdentityEmulatorStats;
  /** Closes both listeners and every connection, hung ones included. Idempotent. */
  stop(): Promise<void>;
}

/** The scope Azure Managed Redis / Azure Cache for Redis also accepts, by app id. */
const redisAppId = "acca5fbb-b7e4-4009-81f1-37e38fd66d78";
const oidcScopes = new Set(["openid", "profile", "offline_access", "email"]);
const maxBodyBytes = 256 * 1024;
const twoHoursSeconds = 2 * 60 * 60;
const DEFAULT_GOOGLE_SERVICE_ACCOUNT = "redis-client@emulator-project.iam.gserviceaccount.com";
const DEFAULT_GOOGLE_PROJECT_ID = "emulator-project";

/** Starts a local identity provider on 127.0.0.1 (random ports). Stop it, or `await using` it. */
export async function startIdentityEmulator(
  options: IdentityEmulatorOptions = {},
): Promise<IdentityEmulator> {
  const settings = resolveOptions(options);
  const { http: withHttp, googleServiceAccount, googleProjectId, ...issuerOptions } = settings;
  const issuer = await startTokenIssuer(issuerOptions);
  const googleTokens = createGoogleTokenSigner();
  const authority = await createCertificateAuthority("redis-credentials identity emulator CA");
  const directory = new Directory();
  const faults = new FaultController();
  const counters: IdentityEmulatorStats = {
    tokensIssued: 0,
    tokensIssuedByClient: {},
    requests: {},
  };
  const count = (outcome: string) => {
    counters.requests[outcome] = (counters.requests[outcome] ?? 0) + 1;
  };
  const countIssued = (clientId: string) => {
    counters.tokensIssued += 1;
    counters.tokensIssuedByClient[clientId] = (counters.tokensIssuedByClient[clientId] ?? 0) + 1;
  };

  let authorityHost = "";
  let stopped = false;
  const tenantPath = () => `${authorityHost}/${issuer.tenantId}`;
  const tokenEndpoint = () => `${tenantPath()}/oauth2/v2.0/token`;

  const acceptedScopes = new Set([`${issuer.audience}/.default`, `${redisAppId}/.default`]);
  const acceptedResources = new Set([
    issuer.audience,
    `${issuer.audience.replace(/\/$/, "")}/`,
    redisAppId,
  ]);

  const issue = (identity: {
    objectId: string;
    clientId: string;
    tokenLifetimeMs: number | undefined;
  }) => {
    const token = issuer.issueToken({
      objectId: identity.objectId,
      appId: identity.clientId,
      lifetimeMs: identity.tokenLifetimeMs ?? issuer.tokenLifetimeMs,
    });
    countIssued(identity.clientId);
    const claims = parseJwt(token)?.claims as { exp: number; nbf: number };
    // MSAL adds expires_in to its request time rounded to the second: so its expiresOn is `exp`.
    const expiresIn = claims.exp - Math.round(Date.now() / 1000);
    return { token, expiresIn, exp: claims.exp, nbf: claims.nbf };
  };

  /** Applies the injected faults; true when the request was answered (or held) by one. */
  const applyFaults = async (
    res: ServerResponse,
    fail: (failure: EntraError, headers?: Record<string, string>) => void,
  ): Promise<boolean> => {
    const decision = await faults.decide();
    if (stopped || res.destroyed) return true;
    switch (decision.kind) {
      case "proceed":
        return false;
      case "outage":
        count("outage");
        fail(entraErrors.outage());
        return true;
      case "throttle":
        count("throttled");
        fail(entraErrors.throttled(decision.retryAfterSeconds), {
          "retry-after": String(decision.retryAfterSeconds),
        });
        return true;
      case "fail":
        count("failed");
        fail(entraErrors.injected(decision.status));
        return true;
      case "hang":
        count("hung");
        faults.hold(res);
        return true;
    }
  };

  const handleToken = async (
    req: IncomingMessage,
    res: ServerResponse,
    tenant: string,
  ): Promise<void> => {
    const body = await readBody(req);
    // MSAL sends its correlation id as `client-request-id` in the query string and the body.
    const correlationId =
      new URL(req.url ?? "/", "http://emulator").searchParams.get("client-request-id") ??
      new URLSearchParams(body ?? "").get("client-request-id") ??
      headerValue(req, "client-request-id");
    const fail = (failure: EntraError, headers?: Record<string, string>) =>
      sendEntraError(res, failure, correlationId, headers);
    const refuse = (failure: EntraError) => {
      count(failure.error);
      fail(failure);
    };
    if (body === undefined) return sendTooLarge(res);
    if (await applyFaults(res, fail)) return;
    if (tenant.toLowerCase() !== issuer.tenantId.toLowerCase()) {
      return refuse(entraErrors.unknownTenant(tenant));
    }
    const params = new URLSearchParams(body);
    const grantType = params.get("grant_type");
    if (grantType === null) return refuse(entraErrors.missingParameter("grant_type"));
    if (grantType !== "client_credentials") {
      return refuse(entraErrors.unsupportedGrantType(grantType));
    }
    const client = directory.authenticate(params, issuer.tenantId, tokenEndpoint());
    if (!isClient(client)) return refuse(client);
    const scope = params.get("scope");
    if (scope === null || scope.trim() === "") return refuse(entraErrors.missingParameter("scope"));
    const resources = scope.split(/\s+/).filter((s) => s !== "" && !oidcScopes.has(s));
    if (resources.length !== 1 || !acceptedScopes.has(resources[0]!)) {
      return refuse(entraErrors.invalidScope(scope));
    }

    const { token, expiresIn } = issue(client);
    count("ok");
    sendJson(
      res,
      200,
      {
        token_type: "Bearer",
        expires_in: expiresIn,
        ext_expires_in: expiresIn,
        // Entra sends refresh_in for long-lived tokens only: half their lifetime.
        ...(expiresIn >= twoHoursSeconds ? { refresh_in: Math.floor(expiresIn / 2) } : {}),
        access_token: token,
      },
      correlationId === undefined ? {} : { "client-request-id": correlationId },
    );
  };

  const handleImds = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    await readBody(req);
    // Injected faults reuse Entra's error and description, in IMDS's shorter shape.
    const fail = (failure: ImdsError, headers?: Record<string, string>) =>
      sendImdsError(res, failure, headers);
    const refuse = (failure: ImdsError) => {
      count(failure.error);
      fail(failure);
    };
    if (await applyFaults(res, fail)) return;
    if (headerValue(req, "metadata")?.toLowerCase() !== "true") {
      return refuse(imdsErrors.missingMetadataHeader());
    }
    const query = url.searchParams;
    if (!query.get("api-version")) return refuse(imdsErrors.missingParameter("api-version"));
    const resource = query.get("resource");
    if (!resource) return refuse(imdsErrors.missingParameter("resource"));
    const ids = {
      clientId: query.get("client_id") ?? undefined,
      objectId: query.get("object_id") ?? undefined,
      resourceId: query.get("msi_res_id") ?? undefined,
    };
    if (Object.values(ids).filter((id) => id !== undefined).length > 1) {
      return refuse(imdsErrors.multipleIdentities());
    }
    const identity = directory.findManagedIdentity(
      Object.fromEntries(Object.entries(ids).filter(([, id]) => id !== undefined)),
    );
    if (identity === undefined) return refuse(imdsErrors.identityNotFound());
    if (!acceptedResources.has(resource)) {
      return refuse(imdsErrors.unknownResource(resource, issuer.tenantId));
    }

    const { token, expiresIn, exp, nbf } = issue(identity);
    count("ok");
    // IMDS sends every number as a string.
    sendJson(res, 200, {
      access_token: token,
      client_id: identity.clientId,
      expires_in: String(expiresIn),
      expires_on: String(exp),
      ext_expires_in: String(expiresIn),
      not_before: String(nbf),
      resource,
      token_type: "Bearer",
    });
  };

  const handleMetadata = createMetadataHandler({
    serviceAccount: googleServiceAccount,
    projectId: googleProjectId,
    tokens: googleTokens,
    tokenLifetimeMs: issuer.tokenLifetimeMs,
    countIssued,
    applyFaults,
    count,
  });

  const openIdConfiguration = () => ({
    token_endpoint: tokenEndpoint(),
    token_endpoint_auth_methods_supported: [
      "client_secret_post",
      "private_key_jwt",
      "client_secret_basic",
    ],
    jwks_uri: `${tenantPath()}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${tenantPath()}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${tenantPath()}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${tenantPath()}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${tenantPath()}/oauth2/v2.0/logout`,
    tenant_region_scope: "WW",
    cloud_instance_name: "microsoftonline.com",
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://emulator");
    const path = url.pathname;
    if (path.startsWith(METADATA_PREFIX)) return handleMetadata(req, res, url);
    // MSAL appends a slash to the IMDS URL it builds from AZURE_POD_IDENTITY_AUTHORITY_HOST.
    if (path === "/metadata/identity/oauth2/token" || path === "/metadata/identity/oauth2/token/") {
      if (req.method !== "GET") return sendMethodNotAllowed(res, "GET");
      return handleImds(req, res, url);
    }
    const match =
      /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token)$/.exec(
        path,
      );
    if (match === null) {
      count("not_found");
      return sendJson(res, 404, {
        error: "not_found",
        error_description: `No endpoint at ${path}.`,
      });
    }
    const tenant = decodeURIComponent(match[1]!);
    const endpoint = match[2]!;
    if (endpoint === "oauth2/v2.0/token") {
      if (req.method !== "POST") return sendMethodNotAllowed(res, "POST");
      return handleToken(req, res, tenant);
    }
    if (req.method !== "GET") return sendMethodNotAllowed(res, "GET");
    count("discovery");
    if (tenant.toLowerCase() !== issuer.tenantId.toLowerCase()) {
      return sendEntraError(res, entraErrors.unknownTenant(tenant), undefined);
    }
    return sendJson(
      res,
      200,
      endpoint === "discovery/v2.0/keys" ? issuer.jwks() : openIdConfiguration(),
    );
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      // Only a broken connection gets here (body read failed): nobody is left to answer.
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: "server_error" });
    });
  };

  const httpsServer = https.createServer(await authority.issueServerCertificate(), onRequest);
  const httpServer = withHttp ? http.createServer(onRequest) : undefined;
  const servers = [httpsServer, ...(httpServer === undefined ? [] : [httpServer])];
  // Every socket, from the moment it connects: closeAllConnections() knows only those that have
  // become HTTP connections, and one still in its TLS handshake at stop() would hold close() open
  // until it sends a request that a stopped emulator never answers.
  const sockets = new Set<Socket>();
  for (const server of servers) {
    server.on("connection", (socket: Socket) => {
      if (stopped) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
  }
  await Promise.all(
    servers.map(async (server) => {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    }),
  );
  const portOf = (server: http.Server) => (server.address() as AddressInfo).port;
  authorityHost = `https://127.0.0.1:${portOf(httpsServer)}`;
  const managedIdentityEndpoint =
    httpServer === undefined ? authorityHost : `http://127.0.0.1:${portOf(httpServer)}`;
  // gcp-metadata puts `http://` in front of a host without a scheme.
  const gceMetadataHost =
    httpServer === undefined ? authorityHost : `127.0.0.1:${portOf(httpServer)}`;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      faults.shutdown();
      const closed = servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
      for (const socket of sockets) socket.destroy();
      await Promise.all(closed);
    })();
    return stopping;
  };

  return {
    issuer: issuer.issuer,
    audience: issuer.audience,
    tenantId: issuer.tenantId,
    tokenLifetimeMs: issuer.tokenLifetimeMs,
    authorityHost,
    ca: authority.ca,
    managedIdentityEndpoint,
    gceMetadataHost,
    googleServiceAccount,
    googleProjectId,
    faults,
    jwks: () => issuer.jwks(),
    verifyToken: (token, check) => issuer.verifyToken(token, check),
    issueToken: (request) => issuer.issueToken(request),
    issueGoogleAccessToken(request = {}) {
      const { serviceAccount, lifetimeMs } = googleTokenRequest(request);
      return googleTokens.issue({
        serviceAccount: serviceAccount ?? googleServiceAccount,
        lifetimeMs: lifetimeMs ?? issuer.tokenLifetimeMs,
      }).token;
    },
    verifyGoogleAccessToken: (token, check = {}) => googleTokens.verify(token, check.now),
    registerClient: (request) => directory.registerClient(request),
    registerManagedIdentity: (request) => directory.registerManagedIdentity(request),
    stats: () => ({
      tokensIssued: counters.tokensIssued,
      tokensIssuedByClient: { ...counters.tokensIssuedByClient },
      requests: { ...counters.requests },
    }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function resolveOptions(options: IdentityEmulatorOptions) {
  assertOptions("startIdentityEmulator", options, [
    "tokenLifetimeMs",
    "audience",
    "tenantId",
    "http",
    "googleServiceAccount",
    "googleProjectId",
  ]);
  const tenantId = optionalString("tenantId", options.tenantId) ?? DEFAULT_TENANT_ID;
  if (!/^[A-Za-z0-9.-]+$/.test(tenantId)) {
    throw new InvalidOptionsError(
      "tenantId",
      "must be a tenant id (letters, digits, '-', '.'), as it is a URL path segment.",
    );
  }
  const audience = optionalString("audience", options.audience);
  if (options.http !== undefined && typeof options.http !== "boolean") {
    throw new InvalidOptionsError("http", "must be a boolean when given.");
  }
  const tokenLifetimeMs = optionalLifetime("tokenLifetimeMs", options.tokenLifetimeMs);
  return {
    tenantId,
    ...(audience === undefined ? {} : { audience }),
    ...(tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs }),
    http: options.http ?? true,
    googleServiceAccount:
      optionalEmail("googleServiceAccount", options.googleServiceAccount) ??
      DEFAULT_GOOGLE_SERVICE_ACCOUNT,
    googleProjectId: optionalProjectId(options.googleProjectId) ?? DEFAULT_GOOGLE_PROJECT_ID,
  };
}

function googleTokenRequest(request: IssueGoogleAccessTokenOptions) {
  assertOptions("issueGoogleAccessToken", request, ["serviceAccount", "lifetimeMs"]);
  return {
    serviceAccount: optionalEmail("serviceAccount", request.serviceAccount),
    lifetimeMs: optionalLifetime("lifetimeMs", request.lifetimeMs),
  };
}

function optionalEmail(name: string, value: unknown): string | undefined {
  const email = optionalString(name, value);
  if (email !== undefined && !/^[^\s@/]+@[^\s@/]+$/.test(email)) {
    throw new InvalidOptionsError(
      name,
      "must be a service account's email (name@project.iam.gserviceaccount.com).",
    );
  }
  return email;
}

function optionalProjectId(value: unknown): string | undefined {
  const projectId = optionalString("googleProjectId", value);
  if (projectId !== undefined && !/^[a-z][a-z0-9-]*[a-z0-9]$/.test(projectId)) {
    throw new InvalidOptionsError(
      "googleProjectId",
      "must be a project id (lower-case letters, digits and '-', starting with a letter).",
    );
  }
  return projectId;
}

function isClient(value: ClientRecord | EntraError): value is ClientRecord {
  return !("error" in value);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request body as text; undefined when it is too large to be a token request. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendTooLarge(res: ServerResponse): void {
  sendJson(res, 413, {
    error: "invalid_request",
    error_description: "The request body is too large.",
  });
}

function sendMethodNotAllowed(res: ServerResponse, allowed: string): void {
  sendJson(res, 405, { error: "method_not_allowed" }, { allow: allowed });
}
