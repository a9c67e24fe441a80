import fc from "fast-check";
import {
  encodeCommand,
  RespParser,
  RespProtocolError,
  type RespValue,
  splitArgs,
} from "../../src/resp";

function parseAll(chunks: Buffer[], mode?: "reply" | "command") {
  const values: RespValue[] = [];
  const raws: Buffer[] = [];
  const parser = new RespParser(
    (value, raw) => {
      values.push(value);
      raws.push(Buffer.from(raw));
    },
    mode ? { mode } : {},
  );
  for (const chunk of chunks) parser.push(chunk);
  return { values, raws, pending: parser.pending };
}

const bytes = (text: string) => Buffer.from(text, "latin1");

/** Splits a buffer at the given sorted points. */
function splitAt(buffer: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (buffer.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const cut of cuts) {
    chunks.push(buffer.subarray(last, cut));
    last = cut;
  }
  chunks.push(buffer.subarray(last));
  return chunks;
}

// One sample of every RESP3 type, as a server would send it, with the value it must parse to.
const samples: [string, RespValue][] = [
  ["+OK\r\n", { type: "simple", value: "OK" }],
  [
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    { type: "error", value: "WRONGPASS invalid username-password pair or user is disabled." },
  ],
  [":-42\r\n", { type: "integer", value: -42 }],
  [":9223372036854775807\r\n", { type: "integer", value: 9223372036854775807n }],
  ["$5\r\nhe\r\no\r\n", { type: "bulk", value: bytes("he\r\no") }],
  ["$0\r\n\r\n", { type: "bulk", value: bytes("") }],
  ["$-1\r\n", { type: "null", value: null }],
  ["*-1\r\n", { type: "null", value: null }],
  ["_\r\n", { type: "null", value: null }],
  ["#t\r\n", { type: "boolean", value: true }],
  [",3.25\r\n", { type: "double", value: 3.25 }],
  [",-inf\r\n", { type: "double", value: Number.NEGATIVE_INFINITY }],
  [
    "(3492890328409238509324850943850943825024385\r\n",
    { type: "bignum", value: 3492890328409238509324850943850943825024385n },
  ],
  ["=15\r\ntxt:Some string\r\n", { type: "verbatim", format: "txt", value: bytes("Some string") }],
  ["!21\r\nSYNTAX invalid syntax\r\n", { type: "error", value: "SYNTAX invalid syntax" }],
  ["*0\r\n", { type: "array", value: [] }],
  [
    "*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n$1\r\nx\r\n",
    {
      type: "array",
      value: [
        { type: "integer", value: 1 },
        {
          type: "array",
          value: [
            { type: "simple", value: "a" },
            { type: "null", value: null },
          ],
        },
        { type: "bulk", value: bytes("x") },
      ],
    },
  ],
  [
    "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n~1\r\n#f\r\n",
    {
      type: "map",
      value: [
        [
          { type: "simple", value: "first" },
          { type: "integer", value: 1 },
        ],
        [
          { type: "bulk", value: bytes("second") },
          { type: "set", value: [{ type: "boolean", value: false }] },
        ],
      ],
    },
  ],
  [
    ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
    {
      type: "push",
      value: [
        { type: "bulk", value: bytes("message") },
        { type: "bulk", value: bytes("ch") },
        { type: "bulk", value: bytes("hi") },
      ],
    },
  ],
  [
    "|1\r\n+ttl\r\n:3600\r\n*2\r\n|1\r\n+key-popularity\r\n,0.5\r\n:1\r\n:2\r\n",
    {
      type: "array",
      attributes: [
        [
          { type: "simple", value: "ttl" },
          { type: "integer", value: 3600 },
        ],
      ],
      value: [
        {
          type: "integer",
          value: 1,
          attributes: [
            [
              { type: "simple", value: "key-popularity" },
              { type: "double", value: 0.5 },
            ],
          ],
        },
        { type: "integer", value: 2 },
      ],
    },
  ],
];

describe("RespParser", () => {
  it.each(samples)("parses %j", (text, expected) => {
    const { values, raws } = parseAll([bytes(text)]);
    expect(values).toEqual([expected]);
    expect(raws).toEqual([bytes(text)]);
  });

  it("emits every value of a stream with its exact bytes, whatever the chunk boundaries", () => {
    const stream = Buffer.concat(samples.map(([text]) => bytes(text)));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (points) => {
        const { values, raws, pending } = parseAll(splitAt(stream, points));
        expect(values).toEqual(samples.map(([, value]) => value));
        expect(raws.map((raw) => raw.toString("latin1"))).toEqual(samples.map(([text]) => text));
        expect(pending).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("delivers a value split into single bytes only once it is complete", () => {
    const seen: string[] = [];
    const parser = new RespParser((value) => seen.push(value.type));
    const text = bytes("*2\r\n$3\r\nfoo\r\n%1\r\n+k\r\n+v\r\n");
    for (let i = 0; i < text.length - 1; i++) parser.push(text.subarray(i, i + 1));
    expect(seen).toEqual([]);
    parser.push(text.subarray(text.length - 1));
    expect(seen).toEqual(["array"]);
  });

  it("keeps raw bytes of earlier values intact while later data arrives", () => {
    const raws: Buffer[] = [];
    const parser = new RespParser((_, raw) => raws.push(raw));
    parser.push(bytes("+first\r\n$10\r\n01234"));
    parser.push(bytes("56789\r\n+third\r\n"));
    parser.push(bytes(`$20000\r\n${"x".repeat(20000)}\r\n`));
    expect(raws.map((raw) => raw.toString().slice(0, 20))).toEqual([
      "+first\r\n",
      "$10\r\n0123456789\r\n",
      "+third\r\n",
      `$20000\r\n${"x".repeat(12)}`,
    ]);
  });

  it("parses a large array split into many chunks in linear time", () => {
    const count = 200_000;
    const text = Buffer.concat([bytes(`*${count}\r\n`), Buffer.alloc(count * 4, ":1\r\n")]);
    let length = 0;
    const parser = new RespParser((value) => {
      length = (value.value as RespValue[]).length;
    });
    const started = Date.now();
    for (let i = 0; i < text.length; i += 1000) parser.push(text.subarray(i, i + 1000));
    expect(length).toBe(count);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rejects bytes that are not RESP", () => {
    const parser = new RespParser(() => {});
    expect(() => parser.push(bytes("?what\r\n"))).toThrow(RespProtocolError);
    expect(() => parser.push(bytes("+OK\r\n"))).toThrow(RespProtocolError);
    expect(() => new RespParser(() => {}).push(bytes("$3\r\nabcd\r\n"))).toThrow(RespProtocolError);
    expect(() => new RespParser(() => {}).push(bytes("*x\r\n"))).toThrow(RespProtocolError);
  });
});

describe("RespParser in command mode", () => {
  it("reads commands as arrays of bulk strings, binary safe", () => {
    const command = encodeCommand(["SET", "key", Buffer.from([0, 13, 10, 255])]);
    const { values, raws } = parseAll([command], "command");
    expect(values).toEqual([
      {
        type: "array",
        value: [
          { type: "bulk", value: bytes("SET") },
          { type: "bulk", value: bytes("key") },
          { type: "bulk", value: Buffer.from([0, 13, 10, 255]) },
        ],
      },
    ]);
    expect(raws).toEqual([command]);
  });

  it("reads inline commands as redis-cli and telnet send them, split anywhere", () => {
    const stream = bytes(
      `PING\r\n\r\nset k "a b\\x41\\n"\nAUTH   user   'it\\'s'\r\n${encodeCommand(["GET", "k"]).toString("latin1")}`,
    );
    const words = (value: RespValue) =>
      (value.value as RespValue[]).map((word) => (word.value as Buffer).toString("latin1"));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), (points) => {
        const { values, raws } = parseAll(splitAt(stream, points), "command");
        expect(values.map(words)).toEqual([
          ["PING"],
          [],
          ["set", "k", "a bA\n"],
          ["AUTH", "user", "it's"],
          ["GET", "k"],
        ]);
        expect(Buffer.concat(raws)).toEqual(stream);
      }),
    );
  });

  it("splits inline arguments like redis-server", () => {
    expect(splitArgs(`  a  "b c"  'd\\'e' "\\x00\\t"`)).toEqual(["a", "b c", "d'e", "\x00\t"]);
    expect(() => splitArgs(`"open`)).toThrow(RespProtocolError);
    expect(() => splitArgs(`"a"b`)).toThrow(RespProtocolError);
  });

  it("still reads multibulk commands as RESP in reply mode", () => {
    expect(parseAll([encodeCommand(["PING"])]).values).toEqual([
      { type: "array", value: [{ type: "bulk", value: bytes("PING") }] },
    ]);
  });
});

describe("encodeCommand", () => {
  it("encodes an array of bulk strings with byte lengths", () => {
    expect(encodeCommand(["AUTH", "é", Buffer.from("x")]).toString()).toBe(
      "*3\r\n$4\r\nAUTH\r\n$2\r\né\r\n$1\r\nx\r\n",
    );
  });
});
