/*
 * Just enough of the Redis serialization protocol for the doctor's few commands: commands are
 * encoded as arrays of bulk strings, and replies (RESP2, and the RESP3 types a server may send
 * anyway) are parsed as they arrive, chunk by chunk.
 */

export type RespValue =
  | { readonly type: "simple"; readonly value: string }
  | { readonly type: "error"; readonly value: string }
  | { readonly type: "integer"; readonly value: number }
  | { readonly type: "bulk"; readonly value: string }
  | { readonly type: "null" }
  | { readonly type: "array"; readonly value: readonly RespValue[] };

/** The server sent bytes that are not RESP. */
export class RespProtocolError extends Error {
  override name = "RespProtocolError";
  /** The first byte that could not be read, e.g. 0x15 for a TLS alert. */
  readonly byte: number;

  constructor(byte: number, message: string) {
    super(message);
    this.byte = byte;
  }
}

/** Redis's own limit on a bulk string: anything longer is not Redis talking. */
const MAX_BULK_BYTES = 512 * 1024 * 1024;

/** A command as Redis expects it from a client: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses replies out of the bytes pushed in, however they were split into chunks. */
export class RespReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the replies they completed. Throws `RespProtocolError` on non-RESP bytes. */
  push(chunk: Buffer): RespValue[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies: RespValue[] = [];
    let offset = 0;
    for (;;) {
      const parsed = parseValue(this.buffer, offset);
      if (parsed === undefined) break;
      replies.push(parsed.value);
      offset = parsed.next;
    }
    this.buffer = this.buffer.subarray(offset);
    return replies;
  }
}

interface Parsed {
  readonly value: RespValue;
  readonly next: number;
}

/** One value at `offset`, or `undefined` when its bytes have not all arrived. */
export function parseValue(buffer: Buffer, offset: number): Parsed | undefined {
  const lineEnd = buffer.indexOf("\r\n", offset);
  if (lineEnd < 0) {
    if (offset < buffer.length) checkType(buffer[offset] as number);
    return undefined;
  }
  const type = buffer[offset] as number;
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (String.fromCharCode(type)) {
    case "+":
      return { value: { type: "simple", value: line }, next };
    case "-":
      return { value: { type: "error", value: line }, next };
    case ":":
      return { value: { type: "integer", value: Number(line) }, next };
    case "_":
      return { value: { type: "null" }, next };
    case "$":
      return parseBulk(buffer, line, next, type);
    case "*":
      return parseArray(buffer, line, next, type);
    default:
      checkType(type);
      return undefined;
  }
}

function parseBulk(buffer: Buffer, line: string, start: number, type: number): Parsed | undefined {
  const length = lengthOf(line, type);
  if (length < 0) return { value: { type: "null" }, next: start };
  if (buffer.length < start + length + 2) return undefined;
  const value = buffer.toString("utf8", start, start + length);
  return { value: { type: "bulk", value }, next: start + length + 2 };
}

function parseArray(buffer: Buffer, line: string, start: number, type: number): Parsed | undefined {
  const count = lengthOf(line, type);
  if (count < 0) return { value: { type: "null" }, next: start };
  const items: RespValue[] = [];
  let next = start;
  for (let i = 0; i < count; i++) {
    const item = parseValue(buffer, next);
    if (item === undefined) return undefined;
    items.push(item.value);
    next = item.next;
  }
  return { value: { type: "array", value: items }, next };
}

function lengthOf(line: string, type: number): number {
  const length = Number(line);
  if (!/^-?\d+$/.test(line) || length > MAX_BULK_BYTES || length < -1) {
    throw new RespProtocolError(type, "The server sent a malformed length: this is not RESP.");
  }
  return length;
}

/** Throws for a first byte no RESP2 reply starts with. */
function checkType(type: number): void {
  if ("+-:$*_".includes(String.fromCharCode(type))) return;
  const hint =
    type === 0x15 || type === 0x16
      ? " (a TLS record: the server speaks TLS on this port)"
      : type === 0x48
        ? " (an 'H': an HTTP server, not Redis)"
        : "";
  throw new RespProtocolError(
    type,
    `The server answered with bytes that are not RESP, starting 0x${type.toString(16).padStart(2, "0")}${hint}.`,
  );
}

/** A reply's text, for a report: the string of a simple or bulk string, the message of an error. */
export function replyText(reply: RespValue): string {
  switch (reply.type) {
    case "simple":
    case "error":
    case "bulk":
      return reply.value;
    case "integer":
      return String(reply.value);
    case "null":
      return "(nil)";
    case "array":
      return `(array of ${reply.value.length})`;
  }
}
