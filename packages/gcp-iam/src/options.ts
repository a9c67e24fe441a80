import { assertKnownOptions, InvalidOptionsError } from "@redis-credentials/core";

/** The scope of the default `GoogleAuth`: Memorystore accepts access tokens for it. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** The Redis user name of Memorystore IAM authentication: the only user it knows. */
export const DEFAULT_USERNAME = "default";

/**
 * What gcpIam() calls on an `AuthClient` of google-auth-library (`JWT`, `Compute`,
 * `UserRefreshClient`, `Impersonated`, an external account client, your own subclass). Written
 * as a shape rather than the class, so that a client from another copy of the library fits.
 */
export interface GoogleAuthClient {
  getAccessToken(): Promise<{
    token?: string | null | undefined;
    res?: { data?: unknown } | null | undefined;
  }>;
  credentials?: { expiry_date?: number | null | undefined } | undefined;
}

/** What gcpIam() calls on a `GoogleAuth` of google-auth-library. */
export interface GoogleAuthLike {
  getClient(): Promise<GoogleAuthClient>;
}

export interface GcpIamOptions {
  /**
   * Where tokens come from: a `GoogleAuth`, or any `AuthClient` of google-auth-library (`new
   * JWT({ email, key, scopes })` for a service account key, `Impersonated`,
   * `ExternalAccountClient.fromJSON(...)`, ...). Set the scopes on it yourself.
   * @default new GoogleAuth({ scopes }), that is Application Default Credentials: the metadata
   * server on Compute Engine, GKE and Cloud Run, GOOGLE_APPLICATION_CREDENTIALS (a service account
   * key or a workload identity federation configuration), or gcloud's user credentials
   */
  auth?: GoogleAuthLike | GoogleAuthClient;
  /**
   * The scopes of the default `GoogleAuth`. Not with `auth`: give your own `GoogleAuth` or client
   * its scopes.
   * @default 'https://www.googleapis.com/auth/cloud-platform'
   */
  scopes?: string | string[];
  /**
   * The Redis user name. Memorystore knows only `default`.
   * @default 'default'
   */
  username?: string;
}

/** The options, checked, with their defaults. */
export interface ResolvedOptions {
  /** A `GoogleAuth` to ask for the client at each fetch (it caches the client itself). */
  readonly googleAuth: GoogleAuthLike | undefined;
  /** The client, when one was passed rather than a `GoogleAuth`. */
  readonly client: GoogleAuthClient | undefined;
  /** Whether `googleAuth` is the default one, made here. */
  readonly isDefaultAuth: boolean;
  readonly scopes: readonly string[];
  readonly username: string;
}

const knownOptions = ["auth", "scopes", "username"];

const buildClient =
  "build a google-auth-library client and pass it as `auth`: `new JWT({ email, key, scopes })` for a service account key, `new GoogleAuth({ keyFilename, scopes })` for a key file";

/** Names people reach for, and what they mean here. */
const suggestions: Record<string, string> = {
  credentials: `${buildClient}.`,
  keyFile: `${buildClient}, or set GOOGLE_APPLICATION_CREDENTIALS to the file.`,
  keyFilename: `${buildClient}, or set GOOGLE_APPLICATION_CREDENTIALS to the file.`,
  serviceAccountKey: `${buildClient}.`,
  authClient: "pass the client as `auth`.",
  client: "pass the client as `auth`.",
  googleAuth: "pass the `GoogleAuth` as `auth`.",
  clientOptions: "pass `auth: new GoogleAuth({ clientOptions, scopes })`.",
  projectId:
    "not needed: an access token is not tied to a project. Grant the role on the instance's project to the principal instead.",
  project: "not needed: an access token is not tied to a project.",
  scope: "the option is `scopes` (a string or an array).",
  user: "the Redis user name is `username` (Memorystore knows only `default`, the default).",
  userId: "the Redis user name is `username` (Memorystore knows only `default`, the default).",
  password: "the password is the access token, which gcpIam() gets from google-auth-library.",
  token: "the token comes from google-auth-library: pass a client as `auth`.",
  targetPrincipal:
    "to act as another service account, pass `auth: new Impersonated({ sourceClient, targetPrincipal, targetScopes })`.",
  serviceAccountEmail:
    "to use a service account key, pass `auth: new JWT({ email, key, scopes })`; on Compute Engine, `auth: new Compute({ serviceAccountEmail, scopes })`.",
  host: "the host goes to the Redis client; gcpIam() needs no instance or endpoint.",
  instance: "the instance goes to the Redis client; gcpIam() needs no instance or endpoint.",
  region: "not needed: Google access tokens are global.",
};

export function resolveOptions(options: GcpIamOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "options",
      "must be an object ({ auth?, scopes?, username? }) when given.",
    );
  }
  assertKnownOptions(options, knownOptions, suggestions);
  const username = resolveUsername(options.username);
  const auth = resolveAuth(options.auth);
  if (auth !== undefined && options.scopes !== undefined) {
    throw new InvalidOptionsError(
      "scopes",
      "only for the default GoogleAuth: with your own `auth`, set the scopes there (`new GoogleAuth({ scopes })`, `new JWT({ email, key, scopes })`, `targetScopes` of `Impersonated`).",
    );
  }
  const scopes = resolveScopes(options.scopes);
  if (auth === undefined) {
    return { googleAuth: undefined, client: undefined, isDefaultAuth: true, scopes, username };
  }
  return {
    googleAuth: auth.kind === "googleAuth" ? auth.value : undefined,
    client: auth.kind === "client" ? auth.value : undefined,
    isDefaultAuth: false,
    scopes,
    username,
  };
}

type Auth =
  | { kind: "googleAuth"; value: GoogleAuthLike }
  | { kind: "client"; value: GoogleAuthClient };

/**
 * By shape, never `instanceof`: the application's google-auth-library may be another copy than
 * the one this package resolves. A `GoogleAuth` also has `getAccessToken`, so `getClient` decides.
 */
function resolveAuth(auth: unknown): Auth | undefined {
  if (auth === undefined) return undefined;
  if (
    (typeof auth === "object" || typeof auth === "function") &&
    auth !== null &&
    !Array.isArray(auth)
  ) {
    const candidate = auth as Record<string, unknown>;
    if (typeof candidate.getClient === "function") {
      return { kind: "googleAuth", value: auth as GoogleAuthLike };
    }
    if (typeof candidate.getAccessToken === "function") {
      return { kind: "client", value: auth as GoogleAuthClient };
    }
  }
  const got =
    typeof auth === "object" && auth !== null && !Array.isArray(auth)
      ? "an object with neither method"
      : describe(auth);
  throw new InvalidOptionsError(
    "auth",
    `must be a GoogleAuth (it has getClient()) or an AuthClient of google-auth-library (it has getAccessToken(): JWT, Compute, Impersonated, ...), got ${got}. For a key file, pass \`new GoogleAuth({ keyFilename, scopes })\`.`,
  );
}

function resolveScopes(scopes: unknown): readonly string[] {
  if (scopes === undefined) return [CLOUD_PLATFORM_SCOPE];
  const list = typeof scopes === "string" ? [scopes] : scopes;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((scope) => typeof scope === "string" && scope.trim().length > 0)
  ) {
    throw new InvalidOptionsError(
      "scopes",
      `must be a non-empty string or a non-empty array of them; Memorystore takes '${CLOUD_PLATFORM_SCOPE}', the default.`,
    );
  }
  return Object.freeze([...(list as string[])]);
}

function resolveUsername(username: unknown): string {
  if (username === undefined) return DEFAULT_USERNAME;
  if (typeof username !== "string" || username.trim().length === 0) {
    throw new InvalidOptionsError(
      "username",
      `must be a non-empty string when given (Memorystore knows only '${DEFAULT_USERNAME}', the default), got ${describe(username)}.`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
  if (/[\s\u0000-\u001f\u007f]/.test(username)) {
    throw new InvalidOptionsError(
      "username",
      "must not contain whitespace or control characters: it is sent as the AUTH user name.",
    );
  }
  return username;
}

/** A value's kind for a message, never its content: a misplaced key or token must not be echoed. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : "a string";
  if (typeof value === "object") return "an object";
  return typeof value;
}
