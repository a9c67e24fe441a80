import { inspect } from "node:util";
import { AwsIamError, awsIam } from "@redis-credentials/aws-iam";
import {
  CredentialsFetchError,
  createTokenManager,
  type RedisCredentials,
} from "@redis-credentials/core";
import { FakeClock } from "@redis-credentials/core/testing";
import {
  ACCESS_KEY_ID,
  isolateAwsEnvironment,
  parseToken,
  REGION,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  signatureVerifies,
} from "../aws-helpers";

isolateAwsEnvironment();
afterEach(() => jest.restoreAllMocks());

const options = { userId: "orders-app", cacheName: "orders-cache", region: REGION };

/** Temporary credentials with a new key at every call, as a role's are after each rotation. */
function rotatingProvider(now: () => number, lifetimeMs = 3_600_000) {
  let n = 0;
  const issued: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: Date;
  }[] = [];
  const provider = async () => {
    n++;
    const credentials = {
      accessKeyId: `ASIAROTATE${n}`,
      secretAccessKey: `rotating-secret-${n}-abcdefghijklmnopqrstuvwxyz0123`,
      sessionToken: `rotating-session-${n}`,
      expiration: new Date(now() + lifetimeMs),
    };
    issued.push(credentials);
    return credentials;
  };
  return { provider, issued };
}

test("with the real clock: the manager gets credentials whose user is the user id and whose token verifies", async () => {
  const manager = createTokenManager(
    awsIam({
      ...options,
      credentials: {
        accessKeyId: ACCESS_KEY_ID,
        secretAccessKey: SECRET_ACCESS_KEY,
        sessionToken: SESSION_TOKEN,
      },
    }),
  );
  try {
    const credentials = await manager.getCredentials();
    expect(credentials.username).toBe("orders-app");
    expect(signatureVerifies(credentials.password, SECRET_ACCESS_KEY)).toBe(true);
    const status = manager.status();
    expect(status).toMatchObject({
      state: "ready",
      source: "aws-iam(elasticache:orders-cache)",
      username: "orders-app",
    });
    expect(status.expiresAt).toBe(credentials.expiresAt);
    // A 15-minute token is refreshed about 5 minutes before it expires.
    expect(status.nextRefreshAt).toBeGreaterThanOrEqual(credentials.expiresAt - 330_000);
    expect(status.nextRefreshAt).toBeLessThanOrEqual(credentials.expiresAt - 300_000);
    const printed = `${inspect(status, { depth: 10 })} ${JSON.stringify(status)} ${inspect(credentials)}`;
    for (const secret of [credentials.password, SECRET_ACCESS_KEY, SESSION_TOKEN]) {
      expect(printed).not.toContain(secret);
    }
  } finally {
    await manager.dispose();
  }
});

test("on a fake clock (Date.now follows it): refreshed on schedule, signed with the rotated key at the new time, fanned out", async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0, 0));
  jest.spyOn(Date, "now").mockImplementation(() => clock.now());
  const { provider, issued } = rotatingProvider(() => clock.now());
  const manager = createTokenManager(awsIam({ ...options, credentials: provider }), { clock });
  try {
    const received: RedisCredentials[] = [];
    const first = await manager.getCredentials();
    manager.subscribe((credentials) => {
      received.push(credentials);
    });
    expect(parseToken(first.password).get("X-Amz-Date")).toBe("20261128T090000Z");
    expect(first.expiresAt).toBe(Date.UTC(2026, 10, 28, 9, 15, 0));
    const refreshAt = manager.status().nextRefreshAt as number;
    expect(refreshAt).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 28, 9, 9, 30));
    expect(refreshAt).toBeLessThanOrEqual(Date.UTC(2026, 10, 28, 9, 10, 0));

    await clock.advanceTo(refreshAt);
    await clock.advance(5_000); // the fan-out spread
    expect(issued).toHaveLength(2);
    expect(received).toHaveLength(1);
    const second = received[0] as RedisCredentials;
    const token = parseToken(second.password);
    expect(
      token.get("X-Amz-Credential")?.startsWith("ASIAROTATE2/20261128/eu-west-1/elasticache/"),
    ).toBe(true);
    expect(token.get("X-Amz-Security-Token")).toBe("rotating-session-2");
    expect(token.get("X-Amz-Date")).toBe(
      new Date(Math.floor(refreshAt / 1000) * 1000).toISOString().replace(/[-:]|\.\d{3}/g, ""),
    );
    expect(signatureVerifies(second.password, issued[1]?.secretAccessKey as string)).toBe(true);
    expect(second.expiresAt).toBe(Math.floor(refreshAt / 1000) * 1000 + 900_000);
    expect((await manager.getCredentials()).password).toBe(second.password);
    expect(manager.status().counters.refreshes).toBe(2);
  } finally {
    await manager.dispose();
  }
});

test("credentials that expire in 4 minutes: the token's expiry is theirs, and the manager refreshes well before", async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0, 0));
  jest.spyOn(Date, "now").mockImplementation(() => clock.now());
  const { provider } = rotatingProvider(() => clock.now(), 240_000);
  const manager = createTokenManager(awsIam({ ...options, credentials: provider }), { clock });
  try {
    const first = await manager.getCredentials();
    expect(first.expiresAt).toBe(Date.UTC(2026, 10, 28, 9, 4, 0));
    expect(manager.status().nextRefreshAt).toBeLessThanOrEqual(Date.UTC(2026, 10, 28, 9, 2, 0));
  } finally {
    await manager.dispose();
  }
});

test("a retryable failure after a success is retried with backoff; a permanent one stops the retries", async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0, 0));
  jest.spyOn(Date, "now").mockImplementation(() => clock.now());
  let answer: "ok" | "throttled" | "denied" = "ok";
  const provider = async () => {
    if (answer === "throttled") {
      throw Object.assign(new Error("Rate exceeded"), {
        name: "Throttling",
        Code: "Throttling",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (answer === "denied") {
      throw Object.assign(new Error("Not authorized to perform sts:AssumeRoleWithWebIdentity"), {
        name: "AccessDenied",
        Code: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
      });
    }
    return {
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      sessionToken: SESSION_TOKEN,
    };
  };
  const manager = createTokenManager(awsIam({ ...options, credentials: provider }), { clock });
  const failures: Error[] = [];
  manager.on("refreshFailed", (error) => failures.push(error));
  try {
    await manager.getCredentials();
    answer = "throttled";
    await clock.advanceTo(manager.status().nextRefreshAt as number);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(CredentialsFetchError);
    expect(failures[0]?.cause).toBeInstanceOf(AwsIamError);
    expect((failures[0]!.cause as AwsIamError).code).toBe("Throttling");
    const retryAt = manager.status().nextRefreshAt as number;
    expect(retryAt).toBeGreaterThan(clock.now());

    answer = "denied";
    await clock.advanceTo(retryAt);
    expect(failures).toHaveLength(2);
    expect((failures[1]!.cause as AwsIamError).code).toBe("AccessDenied");
    expect(manager.status().nextRefreshAt).toBeUndefined();
    for (const failure of failures) {
      const printed = `${failure.message} ${inspect(failure, { depth: 10 })}`;
      expect(printed).not.toContain(SECRET_ACCESS_KEY);
      expect(printed).not.toContain(SESSION_TOKEN);
    }
    // The token held is still served until it expires.
    expect(manager.peekCredentials()?.username).toBe("orders-app");
  } finally {
    await manager.dispose();
  }
});

test("a failed first fetch rejects getCredentials with the AwsIamError as the cause", async () => {
  process.env.AWS_PROFILE = "does-not-exist";
  const manager = createTokenManager(awsIam(options));
  try {
    const error = (await manager
      .getCredentials()
      .catch((e: unknown) => e)) as CredentialsFetchError;
    expect(error).toBeInstanceOf(CredentialsFetchError);
    expect(error.source).toBe("aws-iam(elasticache:orders-cache)");
    expect(error.cause).toBeInstanceOf(AwsIamError);
    expect((error.cause as AwsIamError).code).toBe("ProfileNotFound");
    expect(manager.status().state).toBe("idle");
  } finally {
    await manager.dispose();
  }
});
