import { untilAborted } from "../../src";
import { deferred } from "../sources";

test("resolves and rejects as the promise does while the signal stays quiet", async () => {
  const controller = new AbortController();
  await expect(untilAborted(Promise.resolve("token"), controller.signal)).resolves.toBe("token");
  const failure = new Error("identity provider down");
  await expect(untilAborted(Promise.reject(failure), controller.signal)).rejects.toBe(failure);
});

test("rejects with the signal's reason as soon as it aborts; the late outcome is swallowed", async () => {
  const controller = new AbortController();
  const answer = deferred<string>();
  const raced = untilAborted(answer.promise, controller.signal);
  const timeout = new Error("did not answer within fetchTimeoutMs");
  controller.abort(timeout);
  await expect(raced).rejects.toBe(timeout);
  answer.reject(new Error("too late")); // no unhandled rejection
});

test("an already aborted signal rejects at once; a reason that is not an Error becomes an AbortError", async () => {
  const aborted = AbortSignal.abort("dispose");
  const error = await untilAborted(new Promise(() => {}), aborted).catch((e: Error) => e);
  expect(error).toMatchObject({ name: "AbortError", message: "The request was aborted." });
});
