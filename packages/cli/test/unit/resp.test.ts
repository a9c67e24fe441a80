import {
  encodeCommand,
  parseValue,
  RespProtocolError,
  RespReader,
  replyText,
} from "../../src/resp";

describe("encodeCommand", () => {
  test("an array of bulk strings, lengths in bytes", () => {
    expect(encodeCommand(["SET", "k", "é"]).toString("utf8")).toBe(
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n",
    );
    expect(encodeCommand([]).toString()).toBe("*0\r\n");
  });
});

describe("RespReader", () => {
  const all = (...chunks: string[]) => {
    const reader = new RespReader();
    return chunks.flatMap((chunk) => reader.push(Buffer.from(chunk, "utf8")));
  };

  test("every RESP2 type, and RESP3's null", () => {
    expect(
      all("+OK\r\n-WRONGPASS invalid\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n_\r\n$0\r\n\r\n"),
    ).toEqual([
      { type: "simple", value: "OK" },
      { type: "error", value: "WRONGPASS invalid" },
      { type: "integer", value: 42 },
      { type: "bulk", value: "hello" },
      { type: "null" },
      { type: "null" },
      { type: "null" },
      { type: "bulk", value: "" },
    ]);
  });

  test("nested arrays, as CLUSTER SLOTS sends them", () => {
    expect(all("*1\r\n*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n")).toEqual([
      {
        type: "array",
        value: [
          {
            type: "array",
            value: [
              { type: "integer", value: 0 },
              { type: "integer", value: 5460 },
              {
                type: "array",
                value: [
                  { type: "bulk", value: "127.0.0.1" },
                  { type: "integer", value: 7000 },
                ],
              },
            ],
          },
        ],
      },
    ]);
  });

  test("replies split anywhere across chunks, bulk strings holding CRLF", () => {
    const bytes = "$7\r\nab\r\ncde\r\n*2\r\n+PONG\r\n:1\r\n";
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(all(bytes.slice(0, cut), bytes.slice(cut))).toEqual([
        { type: "bulk", value: "ab\r\ncde" },
        {
          type: "array",
          value: [
            { type: "simple", value: "PONG" },
            { type: "integer", value: 1 },
          ],
        },
      ]);
    }
  });

  test("a TLS alert is not RESP, and says so at its first byte", () => {
    const reader = new RespReader();
    const error = (() => {
      try {
        reader.push(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]));
      } catch (caught) {
        return caught as RespProtocolError;
      }
      throw new Error("expected a protocol error");
    })();
    expect(error).toBeInstanceOf(RespProtocolError);
    expect(error.byte).toBe(0x15);
    expect(error.message).toMatch(/0x15 \(a TLS record: the server speaks TLS on this port\)/);
  });

  test("an HTTP answer, and a malformed length", () => {
    expect(() => all("HTTP/1.1 400 Bad Request\r\n")).toThrow(/an HTTP server, not Redis/);
    expect(() => all("$abc\r\n")).toThrow(/malformed length/);
    expect(() => all(`$${600 * 1024 * 1024}\r\n`)).toThrow(RespProtocolError);
  });

  test("incomplete values wait for more bytes", () => {
    expect(parseValue(Buffer.from("$5\r\nhel"), 0)).toBeUndefined();
    expect(parseValue(Buffer.from("*2\r\n:1\r\n"), 0)).toBeUndefined();
    expect(parseValue(Buffer.from("+OK"), 0)).toBeUndefined();
  });
});

test("replyText", () => {
  expect(replyText({ type: "simple", value: "PONG" })).toBe("PONG");
  expect(replyText({ type: "integer", value: 1 })).toBe("1");
  expect(replyText({ type: "null" })).toBe("(nil)");
  expect(replyText({ type: "array", value: [] })).toBe("(array of 0)");
});
