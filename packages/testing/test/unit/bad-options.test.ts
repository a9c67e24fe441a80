import { InvalidOptionsError } from "@redis-credentials/core";
import { emulatorSource, startTokenRedis } from "../../src";

// The testing tools get bad input too: refused at once with InvalidOptionsError naming what was
// wrong, before any server starts.

const verifier = { verifyToken: () => ({ ok: false, reason: "signature" }) } as never;
const emulator = { issueToken: () => "x", tokenEndpoint: "https://127.0.0.1:1/token" } as never;

test.each([
  ["cluser", { cluser: { masters: 3 } }, "did you mean `cluster`?"],
  ["sentinal", { sentinal: {} }, "did you mean `sentinel`?"],
  ["useTLS", { useTLS: false }, "did you mean `tls`?"],
])(
  "startTokenRedis: an unknown key %s is refused with what was meant",
  async (key, extra, hint) => {
    const error = await startTokenRedis({ identity: verifier, ...extra } as never).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(key);
    expect((error as Error).message).toContain(hint);
  },
);

test.each([
  ["null", null],
  ["a string", "objectId"],
  ["undefined", undefined],
])(
  "emulatorSource: options %s are refused with InvalidOptionsError naming `options`",
  (_title, options) => {
    expect(() => emulatorSource(emulator, options as never)).toThrow(InvalidOptionsError);
    expect(() => emulatorSource(emulator, options as never)).toThrow(
      /Invalid option `options`: must be an object: \{ objectId/,
    );
  },
);
