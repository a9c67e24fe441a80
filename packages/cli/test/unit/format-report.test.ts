import type { DoctorReport } from "../../src/doctor-report";
import { formatReport, reportJson } from "../../src/format-report";
import { redactReport, secretParts } from "../../src/redact";

const heading = { host: "cache.example.com", port: 6380, tls: true, cluster: false };

const failed: DoctorReport = {
  ok: false,
  steps: [
    { name: "credentials", ok: true, detail: "static credentials: user app" },
    { name: "auth", ok: false, detail: "WRONGPASS invalid", remedy: "Add the user.\nThen retry." },
    { name: "whoami", ok: false, detail: "not run: the auth step did not pass", skipped: true },
    { name: "nodes", ok: true, detail: "2 nodes\nnode a: ok\nnode b: ok" },
  ],
};

test("one line per step, the remedy under a failure, more lines indented, a count", () => {
  expect(formatReport(failed, heading)).toBe(
    [
      "redis-credentials doctor: cache.example.com:6380 (TLS)",
      "",
      "PASS  credentials static credentials: user app",
      "FAIL  auth        WRONGPASS invalid",
      "                  remedy: Add the user.",
      "                          Then retry.",
      "SKIP  whoami      not run: the auth step did not pass",
      "PASS  nodes       2 nodes",
      "                  node a: ok",
      "                  node b: ok",
      "",
      "1 of 4 steps failed, 1 skipped.",
      "",
    ].join("\n"),
  );
});

test("a clean run, plaintext, a cluster", () => {
  const report: DoctorReport = { ok: true, steps: [{ name: "dns", ok: true, detail: "x" }] };
  const text = formatReport(report, { ...heading, tls: false, cluster: true });
  expect(text).toMatch(
    /^redis-credentials doctor: cache.example.com:6380 \(plaintext, cluster\)\n/,
  );
  expect(text).toMatch(/All 1 steps passed.\n$/);
});

test("--json: exactly { ok, steps: [{ name, ok, detail, remedy?, skipped? }] }", () => {
  expect(JSON.parse(reportJson(failed))).toEqual(failed);
  expect(Object.keys(JSON.parse(reportJson(failed)))).toEqual(["ok", "steps"]);
});

describe("redaction, the last guard", () => {
  test("a token, its JWT signature, an AWS signature and session token are all replaced", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJlLXNlZ21lbnQ";
    const aws = "c/?X-Amz-Security-Token=SESSION%2Btoken12&X-Amz-Signature=abcdef0123456789";
    const secrets = [...secretParts(jwt), ...secretParts(aws), ...secretParts("tiny")];
    const report: DoctorReport = {
      ok: false,
      steps: [
        {
          name: "auth",
          ok: false,
          detail: `server said c2lnbmF0dXJlLXNlZ21lbnQ and ${jwt}`,
          remedy: "abcdef0123456789 SESSION+token12 SESSION%2Btoken12 tiny",
        },
      ],
    };
    expect(redactReport(report, secrets).steps[0]).toEqual({
      name: "auth",
      ok: false,
      detail: "server said [redacted] and [redacted]",
      remedy: "[redacted] [redacted] [redacted] tiny",
    });
  });
});
