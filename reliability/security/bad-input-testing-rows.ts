import { InvalidOptionsError } from "@redis-credentials/core";
import {
  createGcpVerifier,
  emulatorSource,
  scriptedSource,
  startIdentityEmulator,
  startTokenRedis,
} from "@redis-credentials/testing";
import type { BadInputRow } from "./bad-input-row";

/** A verifier that refuses everything: the rows fail before a server would ask it. */
const verifier = { verifyToken: () => ({ ok: false, reason: "signature" }) } as never;
/** What emulatorSource needs of the emulator; the rows fail before it is asked. */
const emulator = { issueToken: () => "x", tokenEndpoint: "https://127.0.0.1:1/token" } as never;

function invalid(entry: string, input: string, run: () => unknown, message: string): BadInputRow {
  return { entry, input, run, error: InvalidOptionsError, message };
}

/** The testing package's entry points: test tools get bad input too. */
export function testingRows(): BadInputRow[] {
  return [
    invalid(
      "testing.startTokenRedis",
      "no verifier",
      () => startTokenRedis({} as never),
      "`identity`",
    ),
    invalid(
      "testing.startTokenRedis",
      "tls a string",
      () => startTokenRedis({ identity: verifier, tls: "yes" as never }),
      "`tls`",
    ),
    invalid(
      "testing.startTokenRedis",
      "cluster.masters 0 (out of range)",
      () => startTokenRedis({ identity: verifier, cluster: { masters: 0 } }),
      "`cluster.masters`",
    ),
    invalid(
      "testing.startTokenRedis",
      "cluster and sentinel both",
      () => startTokenRedis({ identity: verifier, cluster: { masters: 1 }, sentinel: {} } as never),
      "`sentinel`",
    ),
    invalid(
      "testing.startTokenRedis",
      "unknown key cluser (typo of cluster)",
      () => startTokenRedis({ identity: verifier, cluser: { masters: 3 } } as never),
      "cluser",
    ),
    invalid(
      "testing.startIdentityEmulator",
      "tokenLifetimeMs negative",
      () => startIdentityEmulator({ tokenLifetimeMs: -1 }),
      "`tokenLifetimeMs`",
    ),
    invalid(
      "testing.startIdentityEmulator",
      "unknown key tokenLifetime",
      () => startIdentityEmulator({ tokenLifetime: 1_000 } as never),
      "tokenLifetime",
    ),
    invalid("testing.scriptedSource", "no steps", () => scriptedSource([]), "`steps`"),
    invalid(
      "testing.scriptedSource",
      "a delay step with NaN delayMs",
      () => scriptedSource([{ delayMs: Number.NaN, answer: new Error("x") }]),
      "`steps[0].delayMs`",
    ),
    invalid(
      "testing.scriptedSource",
      "afterLast unknown",
      () => scriptedSource([new Error("x")], { afterLast: "loop" as never }),
      "`afterLast`",
    ),
    invalid(
      "testing.emulatorSource",
      "objectId empty",
      () => emulatorSource(emulator, { objectId: "" }),
      "`objectId`",
    ),
    invalid(
      "testing.emulatorSource",
      "options null",
      () => emulatorSource(emulator, null as never),
      "`options`",
    ),
    invalid(
      "testing.createGcpVerifier",
      "options null",
      () => createGcpVerifier(null as never),
      "`options`",
    ),
  ];
}
