import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidOptionsError } from "@redis-credentials/core";
import { parseDoctorArgs } from "../../src/parse-args";

const SECRET = "s3cret-value-never-shown";
const env = { REDIS_PASSWORD: SECRET, APP_SECRET: SECRET, AWS_REGION: "eu-west-1" };
const base = ["doctor", "--host", "cache.example.com"];

const parse = (...args: string[]) => parseDoctorArgs([...base, ...args], env);

/** The options of a run, or the test fails. */
function options(...args: string[]) {
  const parsed = parse(...args);
  if (parsed.command !== "doctor") throw new Error("expected a doctor run");
  return parsed;
}

/** The error parsing throws: an InvalidOptionsError, whose message never shows the secret. */
function failure(argv: string[], environment: Record<string, string> = env): InvalidOptionsError {
  try {
    parseDoctorArgs(argv, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).not.toContain(SECRET);
    return error as InvalidOptionsError;
  }
  throw new Error("expected parseDoctorArgs to throw");
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "doctor-args-"));
  writeFileSync(
    join(dir, "ca.pem"),
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  );
  writeFileSync(join(dir, "not-a-cert.txt"), "hello");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseDoctorArgs: what the flags choose", () => {
  test("defaults: port 6379, TLS, no cluster, 10 s per step, text output", () => {
    const { options: o, json } = options("--gcp");
    expect(o).toEqual({
      host: "cache.example.com",
      port: 6379,
      tls: true,
      cluster: false,
      timeoutMs: 10_000,
      credentials: { kind: "gcp" },
    });
    expect(json).toBe(false);
  });

  test("every connection flag", () => {
    const ca = join(dir, "ca.pem");
    const { options: o, json } = options(
      "--gcp",
      "--port",
      "10000",
      "--no-tls",
      "--ca",
      ca,
      "--cluster",
      "--json",
      "--timeout-ms=2500",
    );
    expect(o).toMatchObject({ port: 10_000, tls: false, cluster: true, timeoutMs: 2_500 });
    expect(o.ca).toContain("BEGIN CERTIFICATE");
    expect(json).toBe(true);
    expect(options("--gcp", "--tls").options.tls).toBe(true);
  });

  test("--help and -h, whatever else is given", () => {
    expect(parse("--help")).toEqual({ command: "help" });
    expect(parseDoctorArgs(["doctor", "-h"], {})).toEqual({ command: "help" });
    expect(parseDoctorArgs(["--help"], {})).toEqual({ command: "help" });
  });

  test("--entra alone: DefaultAzureCredential, with --tenant-id passed on", () => {
    expect(options("--entra").options.credentials).toEqual({ kind: "entra" });
    expect(options("--entra", "--tenant-id", "t-1").options.credentials).toEqual({
      kind: "entra",
      tenantId: "t-1",
    });
  });

  test("--entra with a service principal: the secret read from the variable named", () => {
    const { credentials } = options(
      "--entra",
      "--tenant-id",
      "t-1",
      "--client-id",
      "c-1",
      "--client-secret-env",
      "APP_SECRET",
    ).options;
    expect(credentials).toEqual({
      kind: "entra",
      tenantId: "t-1",
      clientId: "c-1",
      clientSecret: SECRET,
    });
  });

  test("--managed-identity with and without a client id, before another flag or last", () => {
    expect(
      parseDoctorArgs(["doctor", "--entra", "--managed-identity", "--host", "h"], {}),
    ).toMatchObject({
      options: { host: "h", credentials: { kind: "entra", managedIdentity: true } },
    });
    expect(options("--entra", "--managed-identity").options.credentials).toEqual({
      kind: "entra",
      managedIdentity: true,
    });
    expect(options("--entra", "--managed-identity", "mi-client").options.credentials).toEqual({
      kind: "entra",
      managedIdentity: "mi-client",
    });
    expect(
      options("--entra", "--managed-identity", "--client-id", "mi-2").options.credentials,
    ).toEqual({
      kind: "entra",
      managedIdentity: "mi-2",
    });
  });

  test("AZURE_AUTHORITY_HOST (undocumented) points the credential at another authority", () => {
    const parsed = parseDoctorArgs([...base, "--entra"], {
      AZURE_AUTHORITY_HOST: "https://127.0.0.1:1",
    });
    expect(parsed).toMatchObject({
      options: {
        credentials: {
          credentialOptions: {
            authorityHost: "https://127.0.0.1:1",
            disableInstanceDiscovery: true,
          },
        },
      },
    });
  });

  test("--aws: user id, cache, region from the flag or AWS_REGION, Serverless, MemoryDB", () => {
    expect(options("--aws", "--user-id", "u", "--cache-name", "c").options.credentials).toEqual({
      kind: "aws",
      userId: "u",
      cacheName: "c",
      region: "eu-west-1",
      serverless: false,
      service: "elasticache",
    });
    expect(
      options(
        "--aws",
        "--user-id",
        "u",
        "--cache-name",
        "c",
        "--region",
        "us-east-1",
        "--serverless",
      ).options.credentials,
    ).toMatchObject({ region: "us-east-1", serverless: true });
    expect(
      options("--aws", "--user-id", "u", "--cache-name", "c", "--memorydb").options.credentials,
    ).toMatchObject({
      service: "memorydb",
    });
  });

  test("a static user: the password from the variable, never from the command line", () => {
    expect(
      options("--username", "app", "--password-env", "REDIS_PASSWORD").options.credentials,
    ).toEqual({
      kind: "static",
      username: "app",
      password: SECRET,
      passwordFrom: "$REDIS_PASSWORD",
    });
    expect(options("--password-env=REDIS_PASSWORD").options.credentials).toMatchObject({
      username: "default",
    });
  });
});

describe("parseDoctorArgs: wrong flags name the flag and the fix", () => {
  const cases: [string[], string, RegExp][] = [
    [["doctor", "--hots", "x", "--gcp"], "--hots", /did you mean --host\?/],
    [[...base, "--gcp", "--password", SECRET], "--password", /--password-env VAR/],
    [[...base, "--gcp", `--password=${SECRET}`], "--password", /shell history/],
    [[...base, "--entra", "--client-secret", SECRET], "--client-secret", /--client-secret-env VAR/],
    [[...base, "--gcp", "--insecure"], "--insecure", /--ca FILE/],
    [[...base, "--gcp", "--timeout", "5"], "--timeout", /--timeout-ms/],
    [["doctor", "--gcp"], "--host", /is required/],
    [["doctor", "--gcp", "--host"], "--host", /needs a value/],
    [["doctor", "--host", "--gcp"], "--host", /needs a value/],
    [[...base, "--gcp", "--port", "0"], "--port", /1 to 65535/],
    [[...base, "--gcp", "--port", "6379x"], "--port", /whole number/],
    [[...base, "--gcp", "--port", "70000"], "--port", /1 to 65535/],
    [[...base, "--gcp", "--timeout-ms", "-5"], "--timeout-ms", /needs a value/],
    [[...base, "--gcp", "--timeout-ms", "0"], "--timeout-ms", /1 to 600000/],
    [[...base, "--gcp", "--tls=yes"], "--tls", /takes no value/],
    [[...base, "--gcp", "--tls", "--no-tls"], "--tls/--no-tls", /give one of them/],
    [[...base, "--gcp", "--ca", "/nonexistent/ca.pem"], "--ca", /cannot read .*ENOENT/],
    [[...base], "--entra/--aws/--gcp/--password-env", /choose where the token comes from/],
    [[...base, "--entra", "--gcp"], "--entra and --gcp", /choose one credential/],
    [[...base, "--gcp", "--user-id", "u"], "--user-id", /goes with --aws/],
    [[...base, "--aws", "--tenant-id", "t"], "--tenant-id", /goes with --entra/],
    [[...base, "--aws", "--cache-name", "c"], "--user-id", /is required with --aws/],
    [[...base, "--aws", "--user-id", "u"], "--cache-name", /is required with --aws/],
    [
      [...base, "--aws", "--user-id", "u", "--cache-name", "c", "--serverless", "--memorydb"],
      "--serverless",
      /not MemoryDB/,
    ],
    [[...base, "--entra", "--client-id", "c"], "--client-id", /--client-secret-env VAR/],
    [[...base, "--entra", "--client-secret-env", "APP_SECRET"], "--tenant-id", /is required/],
    [[...base, "--entra", "--managed-identity", "a", "--client-id", "b"], "--client-id", /differs/],
    [
      [...base, "--entra", "--managed-identity", "--client-secret-env", "APP_SECRET"],
      "--client-secret-env",
      /not for a managed identity/,
    ],
    [[...base, "--username", "app"], "--password-env", /is required with --username/],
    [
      [...base, "--password-env", "UNSET_VARIABLE"],
      "--password-env",
      /\$UNSET_VARIABLE is not set/,
    ],
    [[...base, "--password-env", SECRET], "--password-env", /name of an environment variable/],
    [["--host", "h", "--gcp"], "command", /name the command/],
    [["check", "--host", "h", "--gcp"], "command", /the only command is `doctor`/],
    [[...base, "--gcp", SECRET], "arguments", /unexpected argument/],
  ];
  // Titled without the secret: test names end up in logs too.
  const titled = cases.map(
    ([argv, option, message]) =>
      [`${argv.join(" ").replace(SECRET, "<secret>")} → ${option}`, argv, option, message] as const,
  );
  test.each(titled)("%s", (_title, argv, option, message) => {
    const error = failure(argv);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  test("an unset variable whose name may be a secret is not echoed", () => {
    const error = failure([...base, "--password-env", "lower_case_name"]);
    expect(error.message).toContain("the variable it names is not set");
    expect(error.message).not.toContain("lower_case_name");
  });

  test("--region is required when AWS_REGION is not set", () => {
    const error = failure([...base, "--aws", "--user-id", "u", "--cache-name", "c"], {});
    expect(error.option).toBe("--region");
  });

  test("--ca with a file that holds no certificate", () => {
    const error = failure([...base, "--gcp", "--ca", join(dir, "not-a-cert.txt")]);
    expect(error.message).toMatch(/holds no PEM certificate/);
  });
});
