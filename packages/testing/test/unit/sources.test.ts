import { createTokenManager, type RedisCredentials } from "@redis-credentials/core";
import { createFakeClock } from "../../src/fake-clock";
import { ScriptExhaustedError, type ScriptStep, scriptedSource } from "../../src/sources";

const MINUTE = 60_000;

function token(password: string, expiresAt: number): RedisCredentials {
  return { username: "app", password, expiresAt };
}

function fetchWith(reason: "initial" | "scheduled" | "forced" | "retry" = "initial") {
  const controller = new AbortController();
  return { controller, context: { signal: controller.signal, reason } };
}

async function outcome<T>(promise: Promise<T>) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

describe("scriptedSource", () => {
  test("answers each call with the next step: credentials as given, errors thrown", async () => {
    const first = token("token-1", 1_000);
    const failure = new Error("identity provider down");
    const source = scriptedSource([first, failure, token("token-2", 2_000)]);

    await expect(source.fetch(fetchWith().context)).resolves.toBe(first);
    await expect(source.fetch(fetchWith().context)).rejects.toBe(failure);
    await expect(source.fetch(fetchWith().context)).resolves.toMatchObject({ password: "token-2" });
  });

  test("records every call with its reason, clock time and signal", async () => {
    const clock = createFakeClock({ now: 0 });
    const source = scriptedSource([token("a", 1), token("b", 2)], { clock, name: "idp" });
    const one = fetchWith("initial");
    await source.fetch(one.context);
    await clock.advance(250);
    const two = fetchWith("forced");
    await source.fetch(two.context);

    expect(source.name).toBe("idp");
    expect(source.calls).toEqual([
      { n: 1, reason: "initial", at: 0, signal: one.controller.signal },
      { n: 2, reason: "forced", at: 250, signal: two.controller.signal },
    ]);
  });

  test("a function step builds the answer from the call", async () => {
    const clock = createFakeClock({ now: 5_000 });
    const source = scriptedSource(
      [
        (call) => token(`token-${call.n}`, call.at + MINUTE),
        async () => {
          throw new Error("async failure");
        },
      ],
      { clock },
    );
    await expect(source.fetch(fetchWith().context)).resolves.toEqual(
      token("token-1", 5_000 + MINUTE),
    );
    await expect(source.fetch(fetchWith().context)).rejects.toThrow("async failure");
  });

  test("a delay step answers only once the clock has moved by its delay", async () => {
    const clock = createFakeClock({ now: 0 });
    const source = scriptedSource([{ delayMs: 2_000, answer: token("slow", MINUTE) }], { clock });
    let answered: RedisCredentials | undefined;
    void source.fetch(fetchWith().context).then((c) => {
      answered = c;
    });

    await clock.advance(1_999);
    expect(answered).toBeUndefined();
    await clock.advance(1);
    expect(answered?.password).toBe("slow");
  });

  test("a delay step can end in an error", async () => {
    const clock = createFakeClock();
    const source = scriptedSource([{ delayMs: 100, answer: new Error("late failure") }], { clock });
    const result = outcome(source.fetch(fetchWith().context));
    await clock.advance(100);
    expect((await result).error).toEqual(new Error("late failure"));
  });

  test("an abort during a delay rejects at once with the signal's reason and drops the timer", async () => {
    const clock = createFakeClock();
    const source = scriptedSource([{ delayMs: 10_000, answer: token("never", MINUTE) }], { clock });
    const { controller, context } = fetchWith();
    const result = outcome(source.fetch(context));
    expect(clock.pending).toBe(1);

    const reason = new Error("fetch timed out");
    controller.abort(reason);
    expect((await result).error).toBe(reason);
    expect(clock.pending).toBe(0);
  });

  test("a call whose signal is already aborted rejects a delay step without waiting", async () => {
    const clock = createFakeClock();
    const source = scriptedSource([{ delayMs: 10, answer: token("x", MINUTE) }], { clock });
    const { controller, context } = fetchWith();
    controller.abort(new Error("gave up"));
    const result = await outcome(source.fetch(context));
    expect(result.error).toEqual(new Error("gave up"));
    expect(clock.pending).toBe(0);
  });

  test("ignoreAbort keeps a delay going after the caller gave up, like a source that ignores its signal", async () => {
    const clock = createFakeClock();
    const source = scriptedSource(
      [{ delayMs: 1_000, answer: token("late", MINUTE), ignoreAbort: true }],
      { clock },
    );
    const { controller, context } = fetchWith();
    const result = outcome(source.fetch(context));
    controller.abort(new Error("timeout"));
    await clock.advance(1_000);
    expect((await result).value?.password).toBe("late");
  });

  test("a hang step never answers, until the caller aborts", async () => {
    const clock = createFakeClock();
    const source = scriptedSource([{ hang: true }], { clock });
    const { controller, context } = fetchWith();
    let settled = false;
    const result = outcome(source.fetch(context)).finally(() => {
      settled = true;
    });
    await clock.advance(24 * 60 * MINUTE);
    expect(settled).toBe(false);

    const reason = new Error("fetchTimeoutMs");
    controller.abort(reason);
    expect((await result).error).toBe(reason);
  });

  test("a hang step with ignoreAbort stays pending after an abort", async () => {
    const source = scriptedSource([{ hang: true, ignoreAbort: true }]);
    const { controller, context } = fetchWith();
    let settled = false;
    void source.fetch(context).finally(() => {
      settled = true;
    });
    controller.abort(new Error("timeout"));
    await createFakeClock().flushPromises();
    expect(settled).toBe(false);
  });

  test("after the last step, calls fail with ScriptExhaustedError by default", async () => {
    const source = scriptedSource([token("only", MINUTE)], { name: "short-script" });
    await source.fetch(fetchWith().context);
    const { error } = await outcome(source.fetch(fetchWith("scheduled").context));
    expect(error).toBeInstanceOf(ScriptExhaustedError);
    expect((error as Error).message).toBe(
      'Scripted source "short-script" was called 2 times but its script has 1 step(s); add steps, or pass afterLast: "repeat".',
    );
  });

  test('afterLast: "repeat" answers every later call as the last step did', async () => {
    const last = token("last", MINUTE);
    const source = scriptedSource([new Error("first fails"), last], { afterLast: "repeat" });
    await expect(source.fetch(fetchWith().context)).rejects.toThrow("first fails");
    for (let i = 0; i < 3; i++) await expect(source.fetch(fetchWith().context)).resolves.toBe(last);
    expect(source.calls).toHaveLength(4);
  });

  test("the script is copied: changing the array afterwards changes nothing", async () => {
    const steps: ScriptStep[] = [token("a", MINUTE)];
    const source = scriptedSource(steps);
    steps.push(token("b", MINUTE));
    await source.fetch(fetchWith().context);
    await expect(source.fetch(fetchWith().context)).rejects.toBeInstanceOf(ScriptExhaustedError);
  });

  test.each([
    ["an empty script", [], {}, "steps"],
    ["a negative delay", [{ delayMs: -1, answer: token("x", 1) }], {}, "steps[0].delayMs"],
    ["a delay without an answer", [{ delayMs: 1 }], {}, "steps[0].answer"],
    ["hang: false", [{ hang: false }], {}, "steps[0].hang"],
    ["a step that is a string", ["token"], {}, "steps[0]"],
    ["an unknown afterLast", [token("x", 1)], { afterLast: "loop" }, "afterLast"],
  ])("refuses %s when it is created", (_, steps, options, option) => {
    expect(() => scriptedSource(steps as ScriptStep[], options as never)).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option }),
    );
  });
});

describe("scriptedSource driving a core token manager", () => {
  test("an outage at refresh time: the manager retries on the fake clock and recovers", async () => {
    const clock = createFakeClock({ now: 0 });
    const source = scriptedSource(
      [
        (call) => token("token-1", call.at + 60 * MINUTE),
        new Error("outage"),
        new Error("outage"),
        (call) => token("token-2", call.at + 60 * MINUTE),
      ],
      { clock },
    );
    const manager = createTokenManager(source, {
      clock,
      refreshJitterMs: 0,
      retry: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
    });
    const failures: string[] = [];
    manager.on("refreshFailed", (error) => failures.push(error.message));

    await manager.getCredentials();
    await clock.advance(45 * MINUTE + 5_000);

    expect(source.calls.map((c) => c.reason)).toEqual(["initial", "scheduled", "retry", "retry"]);
    expect(failures).toEqual([
      expect.stringContaining("outage"),
      expect.stringContaining("outage"),
    ]);
    expect(manager.peekCredentials()?.password).toBe("token-2");
    await manager.dispose();
  });

  test("a hanging source is cut off by the manager's fetchTimeoutMs through the signal", async () => {
    const clock = createFakeClock({ now: 0 });
    const source = scriptedSource([{ hang: true }, token("fresh", 60 * MINUTE)], { clock });
    const manager = createTokenManager(source, { clock, fetchTimeoutMs: 3_000 });

    const first = outcome(manager.getCredentials());
    await clock.advance(3_000);
    expect((await first).error).toBeInstanceOf(Error);
    expect(source.calls[0]?.signal.aborted).toBe(true);

    await expect(manager.getCredentials()).resolves.toMatchObject({ password: "fresh" });
    await manager.dispose();
  });
});
