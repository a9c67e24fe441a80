/*
 * The secret scan (issue 17). First, that it works: a child jest runs planted leaks with the
 * capture on, in a run directory of its own, and the scan must find each of them and nothing
 * else. Then direct checks that what a user can print of the public objects (token manager, its
 * status, events and diagnostics, credentials, bindings and their status, clients' options,
 * the core's errors) never shows the token, with real managers over scripted sources and real
 * clients on a token-enforcing Redis. This file runs without the capture (the security project
 * has none): its own tokens are not recorded, so nothing it does fails the run's scan.
 */
import { spawn } from "node:child_process";
import diagnosticsChannel from "node:diagnostics_channel";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inspect } from "node:util";
import {
  CredentialsExpiredError,
  CredentialsFetchError,
  CredentialsRejectedError,
  createTokenManager,
  credentialsFromJwt,
  decodeJwtClaims,
  diagnosticsChannels,
  InsecureTransportError,
  InvalidTokenError,
  ManagerDisposedError,
  markPermanent,
  type RedisCredentials,
  type TokenManager,
} from "@redis-credentials/core";
import { createRedis, bindingOf as ioredisBindingOf } from "@redis-credentials/ioredis";
import { createClient, bindingOf as nodeRedisBindingOf } from "@redis-credentials/node-redis";
import {
  createFakeClock,
  scriptedSource,
  startTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import {
  describeSecret,
  distinctiveParts,
  MIN_PART_LENGTH,
  readRecordedSecrets,
  SecretIndex,
  scanRunDirectory,
} from "./secret-scan";

const ROOT = resolve(__dirname, "../..");

describe("the scan", () => {
  it("finds a token by its distinctive part wherever it sits, and names it by 8 characters and its length", () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.${"S".repeat(40)}abc`;
    const google = `ya29.eyJzdWIiOiJ4In0.${"M".repeat(43)}`;
    const aws =
      "cache/?Action=connect&User=u&X-Amz-Security-Token=Fw%2Fsession%2Btoken%3Dlong-enough" +
      `&X-Amz-Signature=${"ab".repeat(32)}`;
    const scripted = 'a "quoted" scripted password';
    const index = new SecretIndex([
      { kind: "entra-token", value: jwt },
      { kind: "google-access-token", value: google },
      { kind: "aws-token", value: aws },
      { kind: "scripted-password", value: scripted },
      { kind: "scripted-password", value: "token-1" },
    ]);
    expect(index.tokens).toBe(5);
    expect(index.tooShort).toBe(1); // "token-1": shorter than MIN_PART_LENGTH
    expect(distinctiveParts({ kind: "aws-token", value: aws }).map((p) => p.name)).toEqual([
      "X-Amz-Signature",
      "X-Amz-Security-Token",
      "X-Amz-Security-Token",
    ]);
    const names = (text: string) => index.find(text).map((part) => part.name);
    expect(names(`{"text":"x ${"S".repeat(40)}abc y"}`)).toEqual(["JWT signature segment"]);
    expect(names(`prefix${"M".repeat(43)}suffix`)).toEqual(["access token MAC"]);
    expect(names(`sig=${"ab".repeat(32)}`)).toEqual(["X-Amz-Signature"]);
    expect(names("Fw/session+token=long-enough")).toEqual(["X-Amz-Security-Token"]);
    expect(names(JSON.stringify({ text: `leaked: ${scripted}` }))).toEqual(["whole token"]);
    // The signature alone, one character short, or the harmless header and claims: no leak.
    expect(names(`${"S".repeat(40)}ab eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0 token-1`)).toEqual([]);
    expect(describeSecret(jwt)).toBe(`"eyJhbGci"… (${jwt.length} chars)`);
    expect(MIN_PART_LENGTH).toBeGreaterThan("token-1".length);
  });

  it("finds every planted leak of a child jest run with the capture on, and no token that was not shown", async () => {
    const directory = mkdtempSync(join(tmpdir(), "rc-secret-scan-planted-"));
    try {
      const run = await runPlantedLeaks(directory);
      expect(`exit code ${run.code}: ${redact(run.output)}`).toMatch(/^exit code 0/);

      const report = scanRunDirectory(directory);
      // One per planted leak (the scripted password included), the bound client's, the raw
      // client's and the one never shown.
      expect(report.tokens).toBe(10);
      expect(report.bytes).toBeGreaterThan(0);
      expect(report.testFiles).toBe(1);
      const captures = new Set(report.findings.map((f) => `${f.secretKind} in ${f.capture}`));
      for (const expected of [
        "entra-token in console.log",
        "entra-token in stderr",
        "entra-token in error (util.inspect with its cause chain)",
        "entra-token in diagnostics channel redis-credentials:refreshed",
        "entra-token in 'error' event of EventEmitter",
        "entra-token in 'error' event of ioredis client",
        "scripted-password in console.warn",
      ]) {
        expect([...captures]).toContain(expected);
      }
      for (const finding of report.findings) {
        expect(finding.testFile).toMatch(/planted-leaks\.fixture\.ts$/);
        expect(finding.token).toMatch(/^"[^"]{8}"… \(\d+ chars\)$/);
      }
      // The token issued and never shown, and the one a raw client (no adapter bound it) held
      // as its password by the test's doing, are recorded, and found nowhere.
      const kept = readRecordedSecrets(directory).filter(
        (secret) =>
          secret.kind === "entra-token" &&
          ["never-shown", "raw-client"].includes(decodeJwtClaims(secret.value).oid as string),
      );
      expect(kept).toHaveLength(2);
      const captured = readdirSync(directory)
        .filter((name) => name.startsWith("capture-"))
        .map((name) => readFileSync(join(directory, name), "utf8"))
        .join("\n");
      expect(new SecretIndex(kept).find(captured)).toEqual([]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("what a user can print never shows the token", () => {
  let issuer: TokenIssuer;
  beforeAll(async () => {
    issuer = await startTokenIssuer();
  });

  it("credentials, the token manager, its status, events and diagnostics", async () => {
    const token = issuer.issueToken({ objectId: "app" });
    const heard: unknown[] = [];
    const unsubscribe = listenToDiagnostics(heard);
    const manager = createTokenManager(scriptedSource([credentialsFromJwt(token)]));
    manager.on("refreshed", (event) => heard.push(event));
    try {
      const credentials = await manager.getCredentials();
      expect(credentials.password).toBe(token); // the token is there to be used...
      // ...and shown by none of these.
      expectHidden(token, {
        credentials,
        "spread credentials": { ...credentials },
        "String(credentials)": String(credentials),
        manager,
        "manager.status()": manager.status(),
        "events and diagnostics": heard,
      });
      expect(heard.length).toBeGreaterThanOrEqual(2);
      // The check itself fails on an object that does show the token.
      expect(() => expectHidden(token, { "a plain object": { password: token } })).toThrow(
        /util\.inspect of a plain object/,
      );
    } finally {
      unsubscribe();
      await manager.dispose();
    }
  });

  it("the core's errors on the way from a source to the user, and the status that holds them", async () => {
    const token = issuer.issueToken({ objectId: "app" });
    const clock = createFakeClock();
    const failures: unknown[] = [];
    // A source whose answer carries the token but is invalid: the error must say why, not echo it.
    const invalid = createTokenManager(
      scriptedSource([{ username: "app", password: token, expiresAt: "soon" as never }], {
        clock,
      }),
      { clock },
    );
    invalid.on("refreshFailed", (error) => failures.push(error));
    const fetchError = await invalid.getCredentials().catch((error: unknown) => error);
    expect(fetchError).toBeInstanceOf(CredentialsFetchError);

    // Credentials that expire while the source fails: CredentialsExpiredError.
    const expiring = createTokenManager(
      scriptedSource(
        [
          { username: "app", password: token, expiresAt: clock.now() + 60_000 },
          // Permanent: no retry is pending once the credentials expire.
          markPermanent(new Error("identity provider down")),
        ],
        { clock, afterLast: "repeat" },
      ),
      { clock },
    );
    await expiring.getCredentials();
    await clock.advance(61_000);
    const afterExpiry = expiring.getCredentials().catch((error: unknown) => error);
    await clock.advance(0);
    const expiredError = await afterExpiry;
    expect(expiredError).toBeInstanceOf(CredentialsExpiredError);

    // A token that is signed but whose claims are unreadable: InvalidTokenError.
    const [header, , signature] = token.split(".");
    const garbled = `${header}.${Buffer.from('{"exp":"never"}').toString("base64url")}.${signature}`;
    const tokenError = catchError(() => credentialsFromJwt(garbled));
    expect(tokenError).toBeInstanceOf(InvalidTokenError);

    await Promise.all([invalid.dispose(), expiring.dispose()]);
    const disposedError = await expiring.getCredentials().catch((error: unknown) => error);
    expect(disposedError).toBeInstanceOf(ManagerDisposedError);

    expectHidden(token, {
      CredentialsFetchError: fetchError,
      "refreshFailed events": failures,
      "status().lastError": invalid.status(),
      CredentialsExpiredError: expiredError,
      "status() after expiry": expiring.status(),
      ManagerDisposedError: disposedError,
    });
    expectHidden(garbled, { InvalidTokenError: tokenError });
  });

  describe("on a token-enforcing Redis", () => {
    let server: TokenRedis;
    const managers: TokenManager[] = [];
    beforeAll(async () => {
      server = await startTokenRedis({ identity: issuer, tls: false });
    });
    afterAll(async () => {
      await Promise.all(managers.map((manager) => manager.dispose()));
      await server.stop();
    });

    /** A manager over a scripted source handing out `user`'s real tokens, with the last one issued. */
    const managerFor = (objectId: string, username = objectId) => {
      const issued: string[] = [];
      const manager = createTokenManager(
        scriptedSource(
          [
            (): RedisCredentials => {
              issued.push(issuer.issueToken({ objectId }));
              const { password, expiresAt } = credentialsFromJwt(issued.at(-1)!);
              return { username, password, expiresAt };
            },
          ],
          { afterLast: "repeat" },
        ),
      );
      managers.push(manager);
      return { manager, issued };
    };
    const address = () => ({ host: server.host, port: server.port });

    it("ioredis: the client's options, what console.log(client) prints, the binding and its status", async () => {
      const { manager, issued } = managerFor("ioredis-app");
      const redis = await createRedis(manager, { ...address(), allowInsecureTransport: true });
      try {
        await redis.ping();
        const binding = ioredisBindingOf(redis);
        expect(binding).toBeDefined();
        expectHidden(issued.at(-1)!, {
          "redis.options": redis.options,
          "console.log(redis)": inspect(redis),
          binding,
          "binding.status()": binding?.status(),
        });
      } finally {
        redis.disconnect();
      }
    });

    it("node-redis: the client's options, the binding and its status", async () => {
      const { manager, issued } = managerFor("node-redis-app");
      const client = createClient(manager, { socket: address(), allowInsecureTransport: true });
      await client.connect();
      try {
        await client.ping();
        const binding = nodeRedisBindingOf(client);
        expect(binding).toBeDefined();
        expectHidden(issued.at(-1)!, {
          "client.options": client.options,
          "console.log(client)": inspect(client),
          binding,
          "binding.status()": binding?.status(),
        });
      } finally {
        client.destroy();
      }
    });

    it("ioredis: CredentialsRejectedError for a user Redis refuses, with its cause, and the client's errors", async () => {
      // Real tokens of one identity under another user name: Redis answers WRONGPASS.
      const { manager, issued } = managerFor("real-identity", "not-a-redis-user");
      const error = await createRedis(manager, { ...address(), allowInsecureTransport: true }).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect(issued.length).toBeGreaterThanOrEqual(2); // the first token and the forced refresh's
      for (const token of issued) expectHidden(token, { CredentialsRejectedError: error });
    });

    it("InsecureTransportError: refusing plaintext does not show the token it would have sent", async () => {
      const { manager } = managerFor("plaintext-app");
      const token = (await manager.getCredentials()).password;
      const error = await createRedis(manager, address()).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(InsecureTransportError);
      expectHidden(token, { InsecureTransportError: error });
    });
  });
});

/**
 * Fails, naming the object and the way it was printed, when `token` (or its last dot-separated
 * part, a JWT's signature) shows in util.inspect (every depth), JSON.stringify or String() of
 * any of `objects`. The message never contains the token.
 */
function expectHidden(token: string, objects: Record<string, unknown>): void {
  const signature = token.slice(token.lastIndexOf(".") + 1);
  const shown: string[] = [];
  for (const [name, value] of Object.entries(objects)) {
    const views: Record<string, () => string> = {
      "util.inspect": () => inspect(value, { depth: Number.POSITIVE_INFINITY, getters: false }),
      "JSON.stringify": () => JSON.stringify(value) ?? "",
      String: () => String(value),
    };
    for (const [how, view] of Object.entries(views)) {
      let text: string;
      try {
        text = view();
      } catch {
        continue; // circular for JSON.stringify: it prints nothing at all
      }
      if (text.includes(signature)) shown.push(`${how} of ${name}`);
    }
  }
  expect(shown).toEqual([]);
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function listenToDiagnostics(heard: unknown[]): () => void {
  const listener = (message: unknown) => heard.push(message);
  const names = Object.values(diagnosticsChannels);
  for (const name of names) diagnosticsChannel.subscribe(name, listener);
  return () => {
    for (const name of names) diagnosticsChannel.unsubscribe(name, listener);
  };
}

/** The child's output with anything token-shaped cut out, for a failure message. */
function redact(output: string): string {
  return output
    .replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "<jwt>")
    .replace(/scripted-x+-\d+-planted/g, "<password>")
    .slice(-4_000);
}

/** Runs the planted leaks in a child jest with the capture on and `directory` as its run directory. */
function runPlantedLeaks(directory: string): Promise<{ code: number | null; output: string }> {
  const config = {
    rootDir: ROOT,
    roots: ["<rootDir>/reliability/security/fixtures"],
    testMatch: ["<rootDir>/reliability/security/fixtures/planted-leaks.fixture.ts"],
    testEnvironment: "node",
    moduleFileExtensions: ["ts", "js", "json"],
    transform: {
      "^.+\\.(t|j)sx?$": [
        "@swc/jest",
        {
          jsc: { parser: { syntax: "typescript" }, target: "es2022" },
          module: { type: "commonjs" },
        },
      ],
    },
    moduleNameMapper: {
      "^@redis-credentials/core/testing$": "<rootDir>/packages/core/src/testing",
      "^@redis-credentials/([a-z-]+)$": "<rootDir>/packages/$1/src",
    },
    setupFilesAfterEnv: ["<rootDir>/jest.setup.cjs", "<rootDir>/reliability/security/capture.cjs"],
  };
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "node_modules/jest/bin/jest.js"),
      "--config",
      JSON.stringify(config),
      "--runInBand",
      "--ci",
      "--silent=false",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, RC_SECRET_SCAN_DIR: directory, RC_SECRET_SCAN: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}
