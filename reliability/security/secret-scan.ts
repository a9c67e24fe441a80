import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/*
 * The secret scan's search (issue 17): every token the run recorded (secrets-<pid>.jsonl, written
 * by @redis-credentials/testing's secret recorder) against everything the capture setup kept
 * (capture-<pid>.jsonl, one JSON line per captured text, written by capture.cjs).
 */

/** One recorded token, as the testing package's secret recorder writes it. */
export interface RecordedSecret {
  readonly kind: string;
  readonly value: string;
}

/** One captured text, as capture.cjs writes it. */
export interface CapturedText {
  readonly file: string;
  readonly kind: string;
  readonly text: string;
}

/** A token found where it must not be; it names the token by its first 8 characters and length only. */
export interface SecretFinding {
  /** The test file whose run captured the text. */
  readonly testFile: string;
  /** What kind of capture: stdout, console.log, an error's util.inspect... */
  readonly capture: string;
  /** The recorded token's kind (entra-token, aws-token...). */
  readonly secretKind: string;
  /** Which part of it was found (the JWT signature, the whole password...). */
  readonly part: string;
  /** One of the tokens found: its first 8 characters and its length, never more of it. */
  readonly token: string;
  /** How many distinct tokens of this kind this capture of this file leaked. */
  readonly tokens: number;
}

export interface SecretScanReport {
  /** Distinct tokens recorded. */
  readonly tokens: number;
  /** Tokens too short to search for without matching ordinary text (see {@link MIN_PART_LENGTH}). */
  readonly tooShort: number;
  /** Distinct strings searched for: each token's distinctive parts. */
  readonly parts: number;
  /** Captured text searched, in bytes. */
  readonly bytes: number;
  /** Test files whose captures were searched. */
  readonly testFiles: number;
  /** Captured characters the capture had to drop (over its per-record or per-file bounds). */
  readonly droppedChars: number;
  readonly findings: readonly SecretFinding[];
}

/**
 * Shorter strings are not searched for: scripted sources in tests answer with passwords such as
 * `pw` or `token-1`, which ordinary output contains. Every token a real source or the emulator
 * issues is far longer.
 */
export const MIN_PART_LENGTH = 16;

/** How a token is named in a report: never the token itself. */
export function describeSecret(value: string): string {
  return `${JSON.stringify(value.slice(0, 8))}… (${value.length} chars)`;
}

interface Part {
  readonly needle: string;
  readonly name: string;
  readonly secret: RecordedSecret;
}

/**
 * The strings whose presence means the token leaked: for a JWT its signature segment (no other
 * token has it, and the header and claims are not secret), for a Google access token its MAC,
 * for an AWS presigned URL its signature and session token, else the whole value.
 */
export function distinctiveParts(secret: RecordedSecret): { name: string; needle: string }[] {
  const { value } = secret;
  const parts: { name: string; needle: string }[] = [];
  const jwt = value.split(".");
  if (jwt.length === 3 && value.startsWith("eyJ")) {
    parts.push({ name: "JWT signature segment", needle: jwt[2] as string });
  } else if (value.startsWith("ya29.")) {
    parts.push({ name: "access token MAC", needle: value.slice(value.lastIndexOf(".") + 1) });
  } else if (value.includes("X-Amz-Signature=")) {
    const query = new URLSearchParams(value.slice(value.indexOf("?") + 1));
    const signature = query.get("X-Amz-Signature");
    const sessionToken = query.get("X-Amz-Security-Token");
    if (signature) parts.push({ name: "X-Amz-Signature", needle: signature });
    if (sessionToken) {
      parts.push({ name: "X-Amz-Security-Token", needle: sessionToken });
      parts.push({ name: "X-Amz-Security-Token", needle: encodeURIComponent(sessionToken) });
    }
  } else {
    parts.push({ name: "whole token", needle: value });
  }
  // Captures are JSON lines: a part with characters JSON escapes is searched for escaped.
  return parts
    .filter((part) => part.needle.length >= MIN_PART_LENGTH)
    .map((part) => ({ ...part, needle: JSON.stringify(part.needle).slice(1, -1) }));
}

const WORD = /^[A-Za-z0-9_-]+$/;
const RUNS = new RegExp(`[A-Za-z0-9_-]{${MIN_PART_LENGTH},}`, "g");

/**
 * Finds many tokens in much text in one pass: parts made of base64url characters (JWT
 * signatures, MACs, hex signatures: nearly all) are looked up by their first
 * {@link MIN_PART_LENGTH} characters at each position of each run of such characters, and the
 * few others are searched for one by one.
 */
export class SecretIndex {
  readonly #byPrefix = new Map<string, Part[]>();
  readonly #others: Part[] = [];
  readonly tokens: number;
  readonly tooShort: number;
  readonly parts: number;

  constructor(secrets: Iterable<RecordedSecret>) {
    const seen = new Set<string>();
    const needles = new Set<string>();
    let tooShort = 0;
    for (const secret of secrets) {
      if (seen.has(secret.value)) continue;
      seen.add(secret.value);
      const parts = distinctiveParts(secret);
      if (parts.length === 0) tooShort += 1;
      for (const { name, needle } of parts) {
        if (needles.has(needle)) continue;
        needles.add(needle);
        const part = { needle, name, secret };
        if (!WORD.test(needle)) {
          this.#others.push(part);
          continue;
        }
        const prefix = needle.slice(0, MIN_PART_LENGTH);
        const list = this.#byPrefix.get(prefix);
        if (list) list.push(part);
        else this.#byPrefix.set(prefix, [part]);
      }
    }
    this.tokens = seen.size;
    this.tooShort = tooShort;
    this.parts = needles.size;
  }

  /** The parts of recorded tokens that `text` contains. */
  find(text: string): Part[] {
    const found = new Set<Part>();
    if (this.#byPrefix.size > 0) {
      for (const run of text.matchAll(RUNS)) {
        const word = run[0];
        for (let i = 0; i + MIN_PART_LENGTH <= word.length; i++) {
          const candidates = this.#byPrefix.get(word.slice(i, i + MIN_PART_LENGTH));
          if (candidates === undefined) continue;
          for (const part of candidates) if (word.startsWith(part.needle, i)) found.add(part);
        }
      }
    }
    for (const part of this.#others) if (text.includes(part.needle)) found.add(part);
    return [...found];
  }
}

/** Reads every JSON line of the files of `directory` named `<prefix>*.jsonl`. */
function* jsonLines(directory: string, prefix: string): Generator<{ line: string; bytes: number }> {
  for (const name of readdirSync(directory).sort()) {
    if (!name.startsWith(prefix) || !name.endsWith(".jsonl")) continue;
    const text = readFileSync(join(directory, name), "utf8");
    for (const line of text.split("\n")) {
      if (line.length > 0) yield { line, bytes: Buffer.byteLength(line) };
    }
  }
}

/** The tokens recorded in a run directory. */
export function readRecordedSecrets(directory: string): RecordedSecret[] {
  const secrets: RecordedSecret[] = [];
  for (const { line } of jsonLines(directory, "secrets-")) {
    const parsed = JSON.parse(line) as RecordedSecret;
    if (typeof parsed.value === "string") secrets.push(parsed);
  }
  return secrets;
}

/** Searches every capture of a run directory for every token recorded in it. */
export function scanRunDirectory(directory: string): SecretScanReport {
  statSync(directory); // a missing directory is an error, not an empty scan
  const index = new SecretIndex(readRecordedSecrets(directory));
  const findings = new Map<string, SecretFinding & { values: Set<string> }>();
  const testFiles = new Set<string>();
  let bytes = 0;
  let droppedChars = 0;
  for (const { line, bytes: size } of jsonLines(directory, "capture-")) {
    bytes += size;
    // The raw line is searched: the parts are JSON-escaped like the text in it.
    const parts = index.find(line);
    if (parts.length === 0 && !line.includes('"kind":"summary"')) continue;
    const record = JSON.parse(line) as CapturedText & { droppedChars?: number };
    testFiles.add(record.file);
    droppedChars += record.droppedChars ?? 0;
    for (const part of parts) {
      const where = {
        testFile: record.file,
        capture: record.kind,
        secretKind: part.secret.kind,
        part: part.name,
      };
      const key = JSON.stringify(where);
      const finding = findings.get(key) ?? {
        ...where,
        token: describeSecret(part.secret.value),
        tokens: 0,
        values: new Set<string>(),
      };
      finding.values.add(part.secret.value);
      findings.set(key, { ...finding, tokens: finding.values.size });
    }
  }
  return {
    tokens: index.tokens,
    tooShort: index.tooShort,
    parts: index.parts,
    bytes,
    testFiles: testFiles.size,
    droppedChars,
    findings: [...findings.values()].map(({ values: _, ...finding }) => finding),
  };
}

/** The report's summary line, and one line per finding. */
export function formatReport(report: SecretScanReport): string {
  const mb = (report.bytes / 1_048_576).toFixed(2);
  const summary =
    `Secret scan: ${report.tokens} token(s) (${report.tooShort} too short to search for, ` +
    `${report.parts} distinctive parts) searched for in ${mb} MB captured from ` +
    `${report.testFiles} test file(s)` +
    (report.droppedChars > 0
      ? `, ${report.droppedChars} captured chars over the bounds dropped`
      : "") +
    `: ${report.findings.length === 0 ? "no leak" : `${report.findings.length} leak(s)`}.`;
  const lines = report.findings.map(
    (f) =>
      `  ${f.tokens} ${f.secretKind}(s) such as ${f.token}: its ${f.part} in ${f.capture} of ${f.testFile}`,
  );
  return [summary, ...lines].join("\n");
}
