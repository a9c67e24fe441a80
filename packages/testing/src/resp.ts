/**
 * A streaming RESP2/RESP3 parser that hands out every complete top-level value together with its
 * exact bytes, so a proxy can inspect traffic and still forward it untouched.
 *
 * Representation: strings that Redis sends as bulk data (`$`, `=`, `!`) are Buffers (binary
 * safe); line types (`+`, `-`) are strings. Integers are numbers, or bigints beyond 2^53. A map is
 * a list of [key, value] pairs (keys can be any type). `$-1`, `*-1` and `_` are all `null`.
 * Attributes (`|`) are attached to the value they precede, which is reported as one unit.
 * Streamed RESP3 aggregates (`$?`, `*?`) are not supported: Redis never sends them.
 */

export type RespValue = (
  | { type: "simple"; value: string }
  | { type: "error"; value: string }
  | { type: "integer"; value: number | bigint }
  | { type: "bulk"; value: Buffer }
  | { type: "verbatim"; format: string; value: Buffer }
  | { type: "array"; value: RespValue[] }
  | { type: "set"; value: RespValue[] }
  | { type: "push"; value: RespValue[] }
  | { type: "map"; value: [RespValue, RespValue][] }
  | { type: "null"; value: null }
  | { type: "boolean"; value: boolean }
  | { type: "double"; value: number }
  | { type: "bignum"; value: bigint }
) & { attributes?: [RespValue, RespValue][] };

export interface RespParserOptions {
  /**
   * `"reply"` reads what a server sends. `"command"` reads what a client sends, as redis-server
   * does: a line that does not start with `*` is an inline command (`PING\r\n`), reported as an
   * array of bulk strings (an empty line as an empty array: Redis answers neither).
   * @default "reply"
   */
  mode?: "reply" | "command";
}

/** The bytes are not RESP; the parser cannot continue. */
export class RespProtocolError extends Error {
  override name = "RespProtocolError";
}

type Aggregate = "array" | "set" | "push" | "map" | "attribute";

interface Frame {
  kind: Aggregate;
  /** Elements still to read (a map counts keys and values). */
  remaining: number;
  items: RespValue[];
  /** An attribute read at this level, waiting for the value it annotates. */
  attributes?: [RespValue, RespValue][] | undefined;
}

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
const MIN_CAPACITY = 16 * 1024;

export class RespParser {
  /** The bytes not yet handed out, from `start`; a view of `store`. */
  private data: Buffer = EMPTY;
  /** Room to append into without copying; `data` is never written over once handed out. */
  private store: Buffer = EMPTY;
  private writable = false;
  /** Where the current top-level value begins. */
  private start = 0;
  /** Where parsing resumes. */
  private pos = 0;
  private readonly stack: Frame[] = [];
  private topAttributes: [RespValue, RespValue][] | undefined;
  private readonly mode: "reply" | "command";
  private failed = false;

  constructor(
    private readonly onValue: (value: RespValue, raw: Buffer) => void,
    options: RespParserOptions = {},
  ) {
    this.mode = options.mode ?? "reply";
  }

  /** Bytes received but not yet part of a complete value. */
  get pending(): number {
    return this.data.length - this.start;
  }

  /**
   * Hands back the bytes not yet part of a complete value and forgets them: after a
   * RespProtocolError, what a proxy forwards untouched so the server can answer as it would.
   */
  takePending(): Buffer {
    const pending = this.data.subarray(this.start);
    this.data = this.store = EMPTY;
    this.writable = false;
    this.start = this.pos = 0;
    this.stack.length = 0;
    this.topAttributes = undefined;
    return pending;
  }

  /**
   * Feeds bytes; calls `onValue` for each value they complete, in order. The parser may keep
   * references to `chunk`: do not reuse it. Throws RespProtocolError on bytes that are not RESP.
   */
  push(chunk: Buffer): void {
    if (this.failed) throw new RespProtocolError("The parser failed earlier on invalid input");
    this.append(chunk);
    try {
      this.parse();
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  private append(chunk: Buffer) {
    if (chunk.length === 0) return;
    const length = this.data.length;
    if (this.start === length) {
      // Nothing pending: parse the chunk where it is (the common case: one reply per chunk).
      this.data = chunk;
      this.store = chunk;
      this.writable = false;
      this.start = this.pos = 0;
      return;
    }
    if (this.writable && length + chunk.length <= this.store.length) {
      chunk.copy(this.store, length);
      this.data = this.store.subarray(0, length + chunk.length);
      return;
    }
    // Move the pending bytes to a larger store; values already handed out keep the old one.
    const pending = length - this.start;
    const capacity = Math.max(MIN_CAPACITY, 2 * (pending + chunk.length));
    const store = Buffer.allocUnsafe(capacity);
    this.data.copy(store, 0, this.start, length);
    chunk.copy(store, pending);
    this.store = store;
    this.writable = true;
    this.data = store.subarray(0, pending + chunk.length);
    this.pos -= this.start;
    this.start = 0;
  }

  private parse() {
    while (this.pos < this.data.length) {
      const atTop = this.stack.length === 0 && this.topAttributes === undefined;
      if (atTop && this.mode === "command" && this.data[this.pos] !== 0x2a /* * */) {
        if (!this.parseInline()) return;
        continue;
      }
      const value = this.parseElement();
      if (value === undefined) return;
      if (value !== STARTED) this.complete(value);
    }
  }

  /** Delivers a finished value to its parent, closing every aggregate it completes. */
  private complete(first: RespValue | AttributeMarker) {
    let value = first;
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (value instanceof AttributeMarker) {
        if (frame) frame.attributes = value.pairs;
        else this.topAttributes = value.pairs;
        return;
      }
      if (!frame) {
        if (this.topAttributes) value.attributes = this.topAttributes;
        this.topAttributes = undefined;
        this.emit(value);
        return;
      }
      if (frame.attributes) {
        value.attributes = frame.attributes;
        frame.attributes = undefined;
      }
      frame.items.push(value);
      frame.remaining--;
      if (frame.remaining > 0) return;
      this.stack.pop();
      value = finish(frame);
    }
  }

  private emit(value: RespValue) {
    const raw = this.data.subarray(this.start, this.pos);
    this.start = this.pos;
    this.onValue(value, raw);
  }

  /**
   * Reads one scalar, or the header of an aggregate (pushed on the stack, STARTED returned).
   * Returns undefined when the bytes are incomplete, leaving `pos` where the element starts.
   */
  private parseElement(): RespValue | AttributeMarker | typeof STARTED | undefined {
    const data = this.data;
    const begin = this.pos;
    const lineEnd = findCrlf(data, begin + 1);
    if (lineEnd < 0) {
      if (data.length - begin > 64 * 1024 * 1024) throw new RespProtocolError("Line too long");
      return undefined;
    }
    const type = data[begin]!;
    const line = () => data.toString("utf8", begin + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case 0x2b /* + */:
        this.pos = next;
        return { type: "simple", value: line() };
      case 0x2d /* - */:
        this.pos = next;
        return { type: "error", value: line() };
      case 0x3a /* : */:
        this.pos = next;
        return { type: "integer", value: parseInteger(line()) };
      case 0x5f /* _ */:
        this.pos = next;
        return { type: "null", value: null };
      case 0x23 /* # */:
        {
          const text = line();
          if (text !== "t" && text !== "f") throw new RespProtocolError(`Bad boolean ${text}`);
          this.pos = next;
          return { type: "boolean", value: text === "t" };
        }
      case 0x2c /* , */:
        this.pos = next;
        return { type: "double", value: parseDouble(line()) };
      case 0x28 /* ( */:
        {
          const text = line();
          if (!/^[-+]?\d+$/.test(text)) throw new RespProtocolError(`Bad big number ${text}`);
          this.pos = next;
          return { type: "bignum", value: BigInt(text) };
        }
      case 0x24 /* $ */:
      case 0x21 /* ! */:
      case 0x3d /* = */:
        {
          const length = parseLength(line());
          if (length < 0) {
            this.pos = next;
            return { type: "null", value: null };
          }
          if (data.length < next + length + 2) return undefined;
          if (data[next + length] !== CR || data[next + length + 1] !== LF) {
            throw new RespProtocolError("Bulk string not terminated by CRLF");
          }
          this.pos = next + length + 2;
          const body = data.subarray(next, next + length);
          if (type === 0x21) return { type: "error", value: body.toString("utf8") };
          if (type === 0x3d) {
            if (length < 4 || body[3] !== 0x3a) throw new RespProtocolError("Bad verbatim string");
            return {
              type: "verbatim",
              format: body.toString("utf8", 0, 3),
              value: body.subarray(4),
            };
          }
          return { type: "bulk", value: body };
        }
      case 0x2a /* * */:
      case 0x7e /* ~ */:
      case 0x3e /* > */:
      case 0x25 /* % */:
      case 0x7c /* | */:
        {
          const kind = AGGREGATES[type]!;
          const count = parseLength(line());
          this.pos = next;
          if (count < 0) return { type: "null", value: null };
          const remaining = kind === "map" || kind === "attribute" ? count * 2 : count;
          const frame: Frame = { kind, remaining, items: [] };
          if (remaining === 0) return finish(frame);
          this.stack.push(frame);
          return STARTED;
        }
      default:
        throw new RespProtocolError(`Unknown RESP type byte 0x${type.toString(16)}`);
    }
  }

  /** An inline command: one line split into words as redis-server splits it. */
  private parseInline(): boolean {
    const data = this.data;
    const end = data.indexOf(LF, this.pos);
    if (end < 0) {
      if (data.length - this.pos > 64 * 1024)
        throw new RespProtocolError("Inline command too long");
      return false;
    }
    const lineEnd = end > this.pos && data[end - 1] === CR ? end - 1 : end;
    const words = splitArgs(data.toString("latin1", this.pos, lineEnd));
    this.pos = end + 1;
    this.emit({
      type: "array",
      value: words.map((word) => ({ type: "bulk", value: Buffer.from(word, "latin1") })),
    });
    return true;
  }
}

const STARTED = Symbol("started");

class AttributeMarker {
  constructor(readonly pairs: [RespValue, RespValue][]) {}
}

const AGGREGATES: Record<number, Aggregate> = {
  42: "array",
  126: "set",
  62: "push",
  37: "map",
  124: "attribute",
};

function finish(frame: Frame): RespValue | AttributeMarker {
  if (frame.kind === "map" || frame.kind === "attribute") {
    const pairs: [RespValue, RespValue][] = [];
    for (let i = 0; i < frame.items.length; i += 2)
      pairs.push([frame.items[i]!, frame.items[i + 1]!]);
    return frame.kind === "map" ? { type: "map", value: pairs } : new AttributeMarker(pairs);
  }
  return { type: frame.kind, value: frame.items };
}

function findCrlf(data: Buffer, from: number): number {
  let index = data.indexOf(CR, from);
  while (index >= 0 && index + 1 < data.length) {
    if (data[index + 1] === LF) return index;
    index = data.indexOf(CR, index + 1);
  }
  return -1;
}

function parseLength(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new RespProtocolError(`Bad length ${JSON.stringify(text)}`);
  return Number(text);
}

function parseInteger(text: string): number | bigint {
  if (!/^[-+]?\d+$/.test(text)) throw new RespProtocolError(`Bad integer ${JSON.stringify(text)}`);
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : BigInt(text);
}

function parseDouble(text: string): number {
  if (text === "inf" || text === "+inf") return Number.POSITIVE_INFINITY;
  if (text === "-inf") return Number.NEGATIVE_INFINITY;
  if (text === "nan" || text === "-nan") return Number.NaN;
  const number = Number(text);
  if (text === "" || Number.isNaN(number)) throw new RespProtocolError(`Bad double ${text}`);
  return number;
}

/**
 * Splits an inline command line like redis-server's sdssplitargs: words separated by spaces,
 * "double quotes" with backslash escapes (\n, \xHH...), 'single quotes' with \'.
 * Works on latin1 strings so every byte maps to one char and back.
 */
export function splitArgs(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && isSpace(line[i])) i++;
    if (i >= line.length) return words;
    let word = "";
    for (;;) {
      const c = line[i];
      if (c === undefined || isSpace(c)) break;
      if (c === '"' || c === "'") {
        // A quote, even mid-word, runs to its closing quote, which ends the word.
        const quoted = readQuoted(line, i + 1, c);
        word += quoted.text;
        i = quoted.end;
        break;
      }
      word += c;
      i++;
    }
    words.push(word);
  }
}

/**
 * The text quoted from `start` (just after the opening `quote`) to the closing one, and the
 * index after it. The closing quote must end the word.
 */
function readQuoted(line: string, start: number, quote: '"' | "'"): { text: string; end: number } {
  let text = "";
  let i = start;
  for (;;) {
    const c = line[i];
    if (c === undefined) throw new RespProtocolError("unbalanced quotes in request");
    const sequence = c === "\\" ? escapeAt(line, i, quote) : undefined;
    if (sequence !== undefined) {
      text += sequence.text;
      i += sequence.length;
      continue;
    }
    if (c === quote) {
      if (i + 1 < line.length && !isSpace(line[i + 1])) {
        throw new RespProtocolError("unbalanced quotes in request");
      }
      return { text, end: i + 1 };
    }
    text += c;
    i++;
  }
}

/**
 * The escape the backslash at `i` starts between `quote`s: in "double quotes" \xHH and \c
 * (\n, \r, \t, \b, \a, else c itself), in 'single quotes' only \'. Undefined: a plain backslash.
 */
function escapeAt(
  line: string,
  i: number,
  quote: '"' | "'",
): { text: string; length: number } | undefined {
  if (quote === "'") return line[i + 1] === "'" ? { text: "'", length: 2 } : undefined;
  if (line[i + 1] === "x" && isHex(line[i + 2]) && isHex(line[i + 3])) {
    return { text: String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16)), length: 4 };
  }
  if (i + 1 < line.length) {
    const escaped = line[i + 1]!;
    return { text: ESCAPES[escaped] ?? escaped, length: 2 };
  }
  return undefined;
}

const isSpace = (c: string | undefined) =>
  c === " " || c === "\n" || c === "\r" || c === "\t" || c === "\v" || c === "\f";
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" };
const isHex = (c: string | undefined) => c !== undefined && /[0-9a-fA-F]/.test(c);

/** A command as clients send it: an array of bulk strings. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const body = typeof arg === "string" ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${body.length}\r\n`), body, CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from("\r\n");

/** Bulk or simple string contents as text (undefined for other types): handy to read replies. */
export function respText(value: RespValue | undefined): string | undefined {
  if (!value) return undefined;
  if (value.type === "bulk" || value.type === "verbatim") return value.value.toString("utf8");
  if (value.type === "simple" || value.type === "error") return value.value;
  return undefined;
}
