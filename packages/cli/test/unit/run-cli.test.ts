import { runCli } from "../../src/run-cli";

const SECRET = "s3cret-password-never-shown";

/** Runs the command line in process, capturing what it writes. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const status = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  return { status, stdout, stderr };
}

test("--help prints every flag and exits 0", async () => {
  const { status, stdout, stderr } = await cli(["doctor", "--help"]);
  expect(status).toBe(0);
  expect(stderr).toBe("");
  for (const flag of [
    "--host",
    "--port",
    "--tls",
    "--no-tls",
    "--ca",
    "--cluster",
    "--json",
    "--timeout-ms",
    "--entra",
    "--tenant-id",
    "--client-id",
    "--client-secret-env",
    "--managed-identity",
    "--aws",
    "--user-id",
    "--cache-name",
    "--region",
    "--serverless",
    "--memorydb",
    "--gcp",
    "--username",
    "--password-env",
    "--help",
  ]) {
    expect(stdout).toContain(flag);
  }
});

const usageErrors: [string[], string][] = [
  [["doctor", "--host", "h", "--gcp", "--port", "http"], "`--port`"],
  [
    ["doctor", "--host", "h", "--gcp", "--pasword-env", "P"],
    "`--pasword-env`: unknown flag: did you mean --password-env?",
  ],
  [
    ["doctor", "--host", "h", "--username", "u", "--password-env", "P", "--password", SECRET],
    "`--password`",
  ],
  [
    ["doctor", "--host", "h", "--username", "u", "--password-env", "P", SECRET],
    "unexpected argument",
  ],
  [[], "name the command"],
];

// Titled without the secret: test names end up in logs too.
test.each(
  usageErrors.map(
    ([argv, message]) => [argv.join(" ").replace(SECRET, "<secret>"), argv, message] as const,
  ),
)(
  "%s: exit 2, what is wrong on stderr, no stack trace, no secret",
  async (_title, argv, message) => {
    const { status, stdout, stderr } = await cli(argv, { P: SECRET });
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(message);
    expect(stderr).toMatch(
      /^redis-credentials: Invalid option `[^`]+`: .*\nRun `redis-credentials doctor --help` for every flag.\n$/,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain(SECRET);
  },
);
