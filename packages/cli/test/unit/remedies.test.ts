import type { PeerCertificate } from "node:tls";
import { untrustedCertificate } from "../../src/certificate";
import type { DoctorStepName } from "../../src/doctor-step";
import { describeFailure, type RemedyContext } from "../../src/remedies";
import { ReplyError, StepFailure, StepTimeoutError } from "../../src/step-errors";

const context: RemedyContext = {
  host: "cache.example.com",
  port: 6380,
  tls: true,
  kind: "entra",
  timeoutMs: 10_000,
  username: "7c1c4a36-0000-4000-8000-000000000001",
};
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
const remedy = (step: DoctorStepName, error: unknown, overrides: Partial<RemedyContext> = {}) =>
  describeFailure(step, error, { ...context, ...overrides }).remedy;

// The remedies the integration tests cannot provoke on this machine (a dropped SYN, a replica,
// an out-of-memory server...), one per cause, by the words that make each one specific.
test.each<[string, DoctorStepName, unknown, Partial<RemedyContext>, RegExp]>([
  [
    "dns: no such name",
    "dns",
    coded("ENOTFOUND"),
    {},
    /does not resolve: check --host.*private DNS zone/,
  ],
  ["dns: resolver down", "dns", coded("EAI_AGAIN"), {}, /DNS server did not answer/],
  [
    "dns: slow resolver",
    "dns",
    new StepTimeoutError(10_000),
    {},
    /DNS lookup took more than 10000 ms/,
  ],
  [
    "tcp: refused",
    "tcp",
    coded("ECONNREFUSED"),
    {},
    /check --port \(Azure Managed Redis listens on 10000.*private endpoint/,
  ],
  [
    "tcp: dropped",
    "tcp",
    new StepTimeoutError(10_000),
    {},
    /network security group.*security group.*VPC/,
  ],
  ["tcp: no route", "tcp", coded("EHOSTUNREACH"), {}, /No route to cache.example.com/],
  ["tcp: reset", "tcp", coded("ECONNRESET"), {}, /firewall or proxy refuses it/],
  [
    "tls: not TLS",
    "tls",
    coded("EPROTO", "wrong version number"),
    {},
    /does not speak TLS.*--no-tls/,
  ],
  [
    "tls: closed in handshake",
    "tls",
    coded("ECONNRESET"),
    {},
    /closed the connection during the TLS handshake/,
  ],
  [
    "tls: no handshake",
    "tls",
    new StepTimeoutError(10_000),
    {},
    /did not complete the TLS handshake within 10000 ms/,
  ],
  [
    "plaintext: no PING answer",
    "tls",
    new StepTimeoutError(10_000),
    { tls: false },
    /Drop --no-tls/,
  ],
  [
    "auth: Entra user unknown",
    "auth",
    new ReplyError("WRONGPASS invalid"),
    {},
    /object id 7c1c4a36-0000-4000-8000-000000000001: this identity is not a Redis user.*az redis access-policy-assignment create/,
  ],
  [
    "auth: AWS refused",
    "auth",
    new ReplyError("WRONGPASS invalid"),
    { kind: "aws" },
    /--user-id.*--cache-name.*--region.*elasticache:Connect/,
  ],
  [
    "auth: GCP refused",
    "auth",
    new ReplyError("WRONGPASS invalid"),
    { kind: "gcp" },
    /roles\/memorystore.dbConnectionUser/,
  ],
  [
    "auth: static refused",
    "auth",
    new ReplyError("WRONGPASS invalid"),
    { kind: "static" },
    /password is wrong/,
  ],
  [
    "auth: custom source refused",
    "auth",
    new ReplyError("WRONGPASS invalid"),
    { kind: "source" },
    /credential source/,
  ],
  [
    "auth: IAM quota",
    "auth",
    new ReplyError("ERR_IAM_EXHAUSTED quota"),
    { kind: "gcp" },
    /exponential backoff/,
  ],
  [
    "auth: no auth on the server",
    "auth",
    new ReplyError(
      "ERR AUTH <password> called without any password configured for the default user",
    ),
    {},
    /does not do token authentication/,
  ],
  [
    "auth: Redis 5",
    "auth",
    new ReplyError("ERR wrong number of arguments for 'auth' command"),
    {},
    /Redis 6 or newer/,
  ],
  ["auth: closed", "auth", coded("ECONNCLOSED"), {}, /closed the connection on AUTH/],
  [
    "auth: no answer",
    "auth",
    new StepTimeoutError(3_000),
    { timeoutMs: 3_000 },
    /did not answer AUTH within 3000 ms/,
  ],
  ["whoami: forbidden", "whoami", new ReplyError("NOPERM no permission"), {}, /\+acl\|whoami/],
  [
    "whoami: old server",
    "whoami",
    new ReplyError("ERR unknown command 'ACL'"),
    {},
    /Redis 6 or newer/,
  ],
  [
    "roundtrip: forbidden",
    "roundtrip",
    new ReplyError("NOPERM no permissions to access a key"),
    {},
    /Data Reader is read-only/,
  ],
  [
    "roundtrip: replica",
    "roundtrip",
    new ReplyError("READONLY You can't write against a read only replica."),
    {},
    /primary/,
  ],
  [
    "roundtrip: a cluster",
    "roundtrip",
    new ReplyError("MOVED 3999 127.0.0.1:6381"),
    {},
    /pass --cluster/,
  ],
  [
    "roundtrip: cluster down",
    "roundtrip",
    new ReplyError("CLUSTERDOWN The cluster is down"),
    {},
    /cluster is down/,
  ],
  ["roundtrip: full", "roundtrip", new ReplyError("OOM command not allowed"), {}, /out of memory/],
  ["roundtrip: loading", "roundtrip", new ReplyError("LOADING Redis is loading"), {}, /not ready/],
  [
    "credentials: Entra secret",
    "credentials",
    coded("invalid_client"),
    {},
    /--client-secret-env names a variable holding a current secret/,
  ],
  [
    "credentials: Entra tenant",
    "credentials",
    coded("invalid_request"),
    {},
    /--tenant-id \(AADSTS90002/,
  ],
  [
    "credentials: no Azure credential",
    "credentials",
    coded("credential_unavailable"),
    {},
    /az login/,
  ],
  [
    "credentials: managed identity",
    "credentials",
    coded("identity_not_found"),
    {},
    /User assigned/,
  ],
  [
    "credentials: Entra, other",
    "credentials",
    coded("server_error"),
    {},
    /login.microsoftonline.com/,
  ],
  [
    "credentials: no AWS credentials",
    "credentials",
    coded("CredentialsNotFound"),
    { kind: "aws" },
    /AWS_ACCESS_KEY_ID.*aws sso login/,
  ],
  [
    "credentials: AWS profile",
    "credentials",
    coded("ProfileNotFound"),
    { kind: "aws" },
    /list-profiles/,
  ],
  [
    "credentials: AWS, other",
    "credentials",
    coded("Throttling"),
    { kind: "aws" },
    /aws sts get-caller-identity/,
  ],
  [
    "credentials: no ADC",
    "credentials",
    coded("CredentialsNotFound"),
    { kind: "gcp" },
    /gcloud auth application-default login/,
  ],
  [
    "credentials: GCP grant",
    "credentials",
    coded("invalid_grant"),
    { kind: "gcp" },
    /revoked or expired login/,
  ],
  [
    "credentials: GCP, other",
    "credentials",
    coded("ProviderError"),
    { kind: "gcp" },
    /print-access-token/,
  ],
  [
    "credentials: custom source",
    "credentials",
    new Error("vault sealed"),
    { kind: "source" },
    /its error, in the detail/,
  ],
  ["credentials: Entra hangs", "credentials", new StepTimeoutError(10_000), {}, /169.254.169.254/],
  [
    "credentials: AWS hangs",
    "credentials",
    new StepTimeoutError(10_000),
    { kind: "aws" },
    /instance metadata service/,
  ],
  ["nodes: too slow", "nodes", new StepTimeoutError(10_000), {}, /which node did not answer/],
  ["anything else", "tcp", new Error("odd"), {}, /The tcp step failed as the detail says/],
])("%s", (_title, step, error, overrides, expected) => {
  expect(remedy(step, error, overrides)).toMatch(expected);
});

test("the detail is the error's first line, clipped; a StepFailure is reported as it is", () => {
  expect(
    describeFailure(
      "tcp",
      coded("ECONNREFUSED", `connect ECONNREFUSED\n${"x".repeat(10)}`),
      context,
    ).detail,
  ).toBe("connect ECONNREFUSED");
  expect(describeFailure("tcp", new Error("y".repeat(700)), context).detail).toHaveLength(603);
  expect(describeFailure("tls", new StepFailure("d", "r"), context)).toEqual({
    detail: "d",
    remedy: "r",
  });
});

describe("certificates that do not verify", () => {
  const certificate = {
    subject: { CN: "cache.example.com" },
    issuer: { CN: "Private CA", O: "Contoso" },
    subjectaltname: "DNS:cache.example.com",
    valid_from: "Jan  1 00:00:00 2026 GMT",
    valid_to: "Jan  1 00:00:00 2027 GMT",
  } as PeerCertificate;
  const options = { host: "10.0.0.4", servername: undefined, ca: undefined };

  test.each([
    [
      "SELF_SIGNED_CERT_IN_CHAIN",
      options,
      /pass --ca FILE with the PEM of the CA that issued it \(CN=Private CA, O=Contoso\)/,
    ],
    [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      { ...options, ca: "pem" },
      /does not chain to the CA in --ca/,
    ],
    ["CERT_HAS_EXPIRED", options, /outside its validity \(2026-01-01 to 2027-01-01\).*NTP/],
    [
      "ERR_TLS_CERT_ALTNAME_INVALID",
      options,
      /not for 10.0.0.4: connect with a name it lists \(DNS:cache.example.com\)/,
    ],
    ["SOMETHING_ELSE", options, /openssl s_client/],
  ] as const)("%s", (code, given, expected) => {
    const failure = untrustedCertificate(code, certificate, given, "Node.js's trust store");
    expect(failure.remedy).toMatch(expected);
    expect(failure.detail).toContain(
      `${code}; certificate CN=cache.example.com (DNS:cache.example.com), issued by CN=Private CA, O=Contoso, valid 2026-01-01 to 2027-01-01`,
    );
  });
});
