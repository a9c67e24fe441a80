import { inspect } from "node:util";
import { isPermanent } from "@redis-credentials/core";
import { GcpIamError, gcpIam } from "@redis-credentials/gcp-iam";
import { AuthClient, JWT } from "google-auth-library";
import {
  CLOUD_PLATFORM,
  failure,
  fetchOnce,
  isolateGoogleEnvironment,
  privateKeyParts,
  SERVICE_ACCOUNT,
  serviceAccountKey,
} from "../google-helpers";

// The source over clients that are not the library's own: an AuthClient subclass, plain objects
// with the same shape (another copy of the library), and a GoogleAuth look-alike.
isolateGoogleEnvironment();

const TOKEN = "ya29.custom-client-token-0123456789";

/** A client that says what the library's clients say, and counts the calls. */
class FixedClient extends AuthClient {
  calls = 0;
  constructor(
    private readonly answer: () => { token?: string | null; res?: { data?: unknown } | null },
    expiryDate?: number,
  ) {
    super();
    if (expiryDate !== undefined) this.credentials = { expiry_date: expiryDate };
  }
  async getAccessToken() {
    this.calls++;
    return this.answer() as { token?: string | null };
  }
  async getRequestHeaders() {
    return new Headers();
  }
  async request(): Promise<never> {
    throw new Error("not used");
  }
}

describe("expiry", () => {
  test("credentials.expiry_date, when the client keeps it", async () => {
    const expiry = Date.now() + 1_800_000;
    const credentials = await fetchOnce(
      gcpIam({ auth: new FixedClient(() => ({ token: TOKEN }), expiry) }),
    );
    expect(credentials).toMatchObject({ username: "default", password: TOKEN, expiresAt: expiry });
  });

  test.each([
    ["a number", 120],
    ["a string", "120"],
  ])("else expires_in of the token response (%s)", async (_kind, expiresIn) => {
    const before = Date.now();
    const credentials = await fetchOnce(
      gcpIam({
        auth: {
          getAccessToken: async () => ({ token: TOKEN, res: { data: { expires_in: expiresIn } } }),
        },
      }),
    );
    expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  test.each([
    ["nothing said", undefined, undefined],
    ["an expiry_date already past", Date.now() - 1_000, undefined],
    ["an expiry_date that is not a number", "soon", undefined],
    ["expires_in that is not a number", undefined, "an hour"],
  ])("else 5 minutes from now (%s)", async (_title, expiryDate, expiresIn) => {
    const client = {
      credentials: { expiry_date: expiryDate as number | undefined },
      getAccessToken: async () => ({ token: TOKEN, res: { data: { expires_in: expiresIn } } }),
    };
    const before = Date.now();
    const credentials = await fetchOnce(gcpIam({ auth: client }));
    expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
  });
});

test.each([
  ["null", null],
  ["undefined", undefined],
  ["an empty string", ""],
  ["a number", 42],
])("a token that is %s: NoToken, retried", async (_title, token) => {
  const source = gcpIam({ auth: { getAccessToken: async () => ({ token: token as string }) } });
  const error = await failure(fetchOnce(source));
  expect(error.code).toBe("NoToken");
  expect(error.retryable).toBe(true);
  expect(isPermanent(error)).toBe(false);
  expect(error.message).toContain("returned no access token for AuthClient");
});

test("getAccessToken() resolving to nothing at all: NoToken", async () => {
  const source = gcpIam({ auth: { getAccessToken: async () => null as never } });
  expect((await failure(fetchOnce(source))).code).toBe("NoToken");
});

describe("the manager's abort signal", () => {
  test("already aborted: its reason, and the client is not asked", async () => {
    const client = new FixedClient(() => ({ token: TOKEN }));
    const controller = new AbortController();
    const reason = new Error("fetch timed out");
    controller.abort(reason);
    await expect(fetchOnce(gcpIam({ auth: client }), controller.signal)).rejects.toBe(reason);
    expect(client.calls).toBe(0);
  });

  test("aborted while the client works: its reason at once, as is", async () => {
    const controller = new AbortController();
    const reason = new Error("manager disposed");
    const pending = fetchOnce(
      gcpIam({ auth: { getAccessToken: () => new Promise<never>(() => {}) } }),
      controller.signal,
    );
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  test("aborted while GoogleAuth looks for the client: its reason", async () => {
    const controller = new AbortController();
    const pending = fetchOnce(
      gcpIam({ auth: { getClient: () => new Promise<never>(() => {}) } }),
      controller.signal,
    );
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(error).not.toBeInstanceOf(GcpIamError);
  });
});

describe("a GoogleAuth look-alike (getClient)", () => {
  test("asked for its client at each fetch; errors name the client it gave", async () => {
    let getClientCalls = 0;
    let fail = false;
    // A service account client of another copy of the library: the same fields.
    const client = {
      email: SERVICE_ACCOUNT,
      getAccessToken: () =>
        fail ? Promise.reject(new Error("boom")) : Promise.resolve({ token: TOKEN }),
    };
    const source = gcpIam({
      auth: {
        getClient: async () => {
          getClientCalls++;
          return client;
        },
      },
    });
    expect(source.name).toBe("gcp-iam (GoogleAuth)");
    expect((await fetchOnce(source)).password).toBe(TOKEN);
    fail = true;
    const error = await failure(fetchOnce(source));
    expect(getClientCalls).toBe(2);
    expect(error.code).toBe("ProviderError");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`as service account ${SERVICE_ACCOUNT} (ProviderError)`);
    expect(error.message).toContain("Cause: boom.");
  });

  test("getClient() failing: named after the GoogleAuth", async () => {
    const source = gcpIam({
      auth: {
        getClient: async () => {
          throw new Error(
            "Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.",
          );
        },
      },
    });
    const error = await failure(fetchOnce(source));
    expect(error.code).toBe("CredentialsNotFound");
    expect(error.message).toContain("as GoogleAuth (CredentialsNotFound)");
  });

  test("getClient() giving something that is not a client: permanent", async () => {
    const source = gcpIam({ auth: { getClient: async () => ({ notAClient: true }) as never } });
    const error = await failure(fetchOnce(source));
    expect(error.code).toBe("ProviderError");
    expect(error.retryable).toBe(false);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("not an AuthClient");
  });
});

test("a client throwing synchronously, or throwing a string: a retryable ProviderError with it as cause", async () => {
  const sync = gcpIam({
    auth: {
      getAccessToken: () => {
        throw new TypeError("not ready");
      },
    },
  });
  const first = await failure(fetchOnce(sync));
  expect(first.code).toBe("ProviderError");
  expect(first.message).toContain("Cause: not ready.");
  expect(first.cause).toBeInstanceOf(TypeError);

  const thrown = gcpIam({
    auth: {
      getAccessToken: () => Promise.reject("a plain string"),
    },
  });
  const second = await failure(fetchOnce(thrown));
  expect(second.code).toBe("ProviderError");
  expect(second.cause).toBe("a plain string");
  expect(second.message).toContain("Cause: a plain string.");
});

test("a client whose error quotes its private key: the key is cut out of every message", async () => {
  const { privateKey } = serviceAccountKey();
  class LeakyJWT extends JWT {
    override async getAccessToken(): Promise<never> {
      throw new Error(`cannot use the key ${this.key?.split("\n")[1]} of ${this.email}`);
    }
  }
  const auth = new LeakyJWT({ email: SERVICE_ACCOUNT, key: privateKey, scopes: [CLOUD_PLATFORM] });
  const error = await failure(fetchOnce(gcpIam({ auth })));
  expect(error.message).toContain("[redacted]");
  expect(error.message).toContain(SERVICE_ACCOUNT);
  const printed = `${error.message} ${inspect(error, { depth: Number.POSITIVE_INFINITY })}`;
  for (const part of privateKeyParts()) expect(printed).not.toContain(part);
});

test("the source is frozen, and its name holds no secret", () => {
  const { privateKey } = serviceAccountKey();
  const source = gcpIam({ auth: new JWT({ email: SERVICE_ACCOUNT, key: privateKey }) });
  expect(Object.isFrozen(source)).toBe(true);
  expect(source.name).not.toContain("PRIVATE KEY");
  expect(Object.keys(source).sort()).toEqual(["fetch", "name"]);
});
