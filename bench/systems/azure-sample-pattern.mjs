// The pattern users copy from Azure's ioredis sample ("Using Token Cache", in @azure/identity's
// samples/AzureCacheForRedis/ioredis.md): one timer per client fetches the next token a random
// 2–5 minutes (of a 60-minute token) before the current one expires and sends it with AUTH.
// Scaled to any token lifetime: the margin is 2/60 to 5/60 of the token's life. Nothing else: a
// reconnect presents whatever password the client was created with.

import { REDIS_SCOPE } from "../environment.mjs";

/** A random margin before expiry, as the sample draws it: 2–5 minutes of a 60-minute token. */
export function sampleMargin(lifetimeMs) {
  return lifetimeMs * ((2 + Math.random() * 3) / 60);
}

/**
 * Keeps `client` authenticated the sample's way, starting from `token`, the one the client was
 * created with. Returns `stop()`.
 * @param {{ auth(username: string, password: string): Promise<unknown> }} client
 * @param {{ getToken(scope: string): Promise<{ token: string, expiresOnTimestamp: number } | null> }} credential
 * @param {{ username: string, token: { expiresOnTimestamp: number } }} options
 */
export function keepTokenFresh(client, credential, { username, token }) {
  let timer;
  let stopped = false;
  const arm = (current) => {
    const lifetimeMs = current.expiresOnTimestamp - Date.now();
    timer = setTimeout(rotate, Math.max(0, lifetimeMs - sampleMargin(lifetimeMs)));
    timer.unref?.(); // a benchmark's timers must not keep the process alive
  };
  const rotate = async () => {
    let next;
    try {
      next = await credential.getToken(REDIS_SCOPE);
    } catch {
      return; // the sample's chain of timers ends here too (there, with an unhandled rejection)
    }
    if (stopped || next === null) return;
    arm(next); // the sample arms the next timer before it sends AUTH: a failed AUTH ends nothing
    await client.auth(username, next.token).catch(() => {});
  };
  arm(token);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
