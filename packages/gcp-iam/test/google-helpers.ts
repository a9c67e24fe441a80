import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import type { CredentialSource, RedisCredentials } from "@redis-credentials/core";
import { CredentialsError } from "@redis-credentials/core";
import { GcpIamError } from "@redis-credentials/gcp-iam";
import nock from "nock";

/*
 * gaxios (google-auth-library's HTTP client) loads node-fetch with `await import()` on its first
 * request, which Jest's CommonJS runtime refuses without --experimental-vm-modules. Where a
 * `window` exists, gaxios takes `window.fetch` instead: Node's own fetch, which nock intercepts as
 * well. Outside Jest, Node loads node-fetch as usual.
 */
const globals = globalThis as { window?: { fetch: typeof fetch } };
globals.window ??= { fetch: (input, init) => globalThis.fetch(input, init) };

export const OAUTH = "https://oauth2.googleapis.com";
export const STS = "https://sts.googleapis.com";
export const IAM_CREDENTIALS = "https://iamcredentials.googleapis.com";
/** A metadata server host for GCE_METADATA_HOST; nock answers for it. */
export const METADATA_HOST = "metadata.test";
export const METADATA = `http://${METADATA_HOST}`;
export const METADATA_HEADERS = { "Metadata-Flavor": "Google" };

export const SERVICE_ACCOUNT = "redis-app@orders-prod.iam.gserviceaccount.com";
export const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

let keyPair: { privateKey: string; publicKey: string } | undefined;

/** An RSA key pair made for this run (PKCS #8 PEM), as in a service account key file. */
export function serviceAccountKey(): { privateKey: string; publicKey: string } {
  keyPair ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return keyPair;
}

/** The secret lines of the private key: what must never show in an error. */
export function privateKeyParts(): string[] {
  const { privateKey } = serviceAccountKey();
  return [privateKey, ...privateKey.split("\n").filter((line) => line.length >= 40)];
}

/** An access token that looks like Google's and is unique to the test. */
export function accessToken(label = "token"): string {
  return `ya29.${label}-${randomBytes(24).toString("base64url")}`;
}

/** What Google's token endpoint answers. */
export function tokenBody(token: string, expiresIn = 3_599) {
  return { access_token: token, expires_in: expiresIn, token_type: "Bearer" };
}

/** Gaxios' retries with no delay: the same number of requests, without seconds of waiting. */
export const fastRetries = { retryConfig: { retryDelay: 0, retryDelayMultiplier: 1 } };

/** One fetch of a source, as the token manager makes it (an abort signal of its own unless given). */
export function fetchOnce(
  source: CredentialSource,
  signal: AbortSignal = new AbortController().signal,
): Promise<RedisCredentials> {
  return source.fetch({ signal, reason: "initial" });
}

/** The GcpIamError a fetch fails with. */
export async function failure(promise: Promise<unknown>): Promise<GcpIamError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the fetch to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GcpIamError);
  expect(error).toBeInstanceOf(CredentialsError);
  expect((error as Error).name).toBe("GcpIamError");
  return error as GcpIamError;
}

/** None of `secrets` shows in the error, however it is printed, its causes included. */
export function expectNoSecrets(error: unknown, secrets: readonly string[]): void {
  const printed = [
    (error as Error).message,
    String(error),
    inspect(error, { depth: Number.POSITIVE_INFINITY }),
    JSON.stringify(error),
  ].join("\n");
  for (const secret of secrets) expect(printed).not.toContain(secret);
}

/** Counts the requests an interceptor answered. */
export function counted<T>(answer: () => T): { reply: () => T; readonly count: number } {
  let count = 0;
  return {
    reply: () => {
      count++;
      return answer();
    },
    get count() {
      return count;
    },
  };
}

const googleVariables = [
  "GOOGLE_APPLICATION_CREDENTIALS",
  "google_application_credentials",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "gcloud_project",
  "google_cloud_project",
  "GOOGLE_CLOUD_QUOTA_PROJECT",
  "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
  "CLOUDSDK_CONFIG",
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "METADATA_SERVER_DETECTION",
  "DETECT_GCP_RETRIES",
  "K_SERVICE",
  "FUNCTION_NAME",
  "CLOUD_RUN_JOB",
  "DEBUG_AUTH",
];

/**
 * Each test starts with no Google configuration: none of the variables Application Default
 * Credentials read, and a HOME (and gcloud config directory) without credentials. nock answers
 * every Google endpoint; interceptors left over, pending requests, spies and fake time are
 * cleared after each test, and the environment restored.
 */
export function isolateGoogleEnvironment(): { readonly home: () => string } {
  let saved: NodeJS.ProcessEnv = {};
  let home = "";
  beforeEach(() => {
    saved = { ...process.env };
    for (const name of googleVariables) delete process.env[name];
    home = mkdtempSync(join(tmpdir(), "gcp-iam-home-"));
    process.env.HOME = home;
    process.env.CLOUDSDK_CONFIG = join(home, ".config", "gcloud");
  });
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
    jest.restoreAllMocks();
    jest.useRealTimers();
    for (const name of Object.keys(process.env)) {
      if (!(name in saved)) delete process.env[name];
    }
    Object.assign(process.env, saved);
    rmSync(home, { recursive: true, force: true });
  });
  return { home: () => home };
}

/**
 * Moves the time google-auth-library sees (it reads `new Date()` for its token cache) while
 * every timer stays real: gaxios' retries and nock's replies keep working.
 */
export function fakeLibraryTime(start: number = Date.now()): {
  now: () => number;
  set: (epochMs: number) => void;
  advance: (ms: number) => void;
} {
  jest.useFakeTimers({
    now: start,
    doNotFake: [
      "hrtime",
      "nextTick",
      "performance",
      "queueMicrotask",
      "requestAnimationFrame",
      "cancelAnimationFrame",
      "requestIdleCallback",
      "cancelIdleCallback",
      "setImmediate",
      "clearImmediate",
      "setInterval",
      "clearInterval",
      "setTimeout",
      "clearTimeout",
    ],
  });
  return {
    now: () => Date.now(),
    set: (epochMs) => jest.setSystemTime(epochMs),
    advance: (ms) => jest.setSystemTime(Date.now() + ms),
  };
}

/** Waits, in real time, until `condition` holds. */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
