import { createTokenManager, type TokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, type ScriptedSource, scriptedSource } from "../helpers";
import { MINUTE } from "../sources";

const LIFETIME = 60 * MINUTE;
// Default options: target 0.75 × 60 min = 45 min, jitter window 30 s wide ending there.
const WINDOW_START = 44.5 * MINUTE;
const WINDOW_END = 45 * MINUTE;
const WINDOW = WINDOW_END - WINDOW_START;

test("1,000 managers started at the same instant spread their first refresh across the jitter window", async () => {
  const clock = new FakeClock();
  const start = clock.now();
  const fleet: { manager: TokenManager; source: ScriptedSource }[] = [];
  for (let i = 0; i < 1_000; i++) {
    let n = 0;
    const source = scriptedSource(clock, async () =>
      credentialsFor(clock, LIFETIME, `token-${i}-${++n}`),
    );
    fleet.push({ source, manager: createTokenManager(source, { clock }) });
  }
  await Promise.all(fleet.map(({ manager }) => manager.getCredentials()));
  expect(clock.now()).toBe(start);

  // Let the whole window pass: every manager refreshes exactly once, when it said it would.
  const announced = fleet.map(({ manager }) => manager.status().nextRefreshAt! - start);
  await clock.advanceTo(start + WINDOW_END);
  const refreshes = fleet.map(({ source }) => {
    expect(source.calls).toHaveLength(2);
    return source.calls[1]!.at - start;
  });
  expect(refreshes).toEqual(announced);
  for (const t of refreshes) {
    expect(t).toBeGreaterThanOrEqual(WINDOW_START);
    expect(t).toBeLessThanOrEqual(WINDOW_END);
  }

  // No 1% slice of the window holds more than 5% of the fleet (10 expected per slice).
  const slices = new Array<number>(100).fill(0);
  for (const t of refreshes) {
    const slice = Math.min(99, Math.floor(((t - WINDOW_START) / WINDOW) * 100));
    slices[slice]!++;
  }
  expect(Math.max(...slices)).toBeLessThanOrEqual(50);
  // Nearly every slice is used (an empty one has probability 0.99^1000 ≈ 4e-5).
  expect(slices.filter((count) => count === 0).length).toBeLessThanOrEqual(10);

  // The spread covers the window, from near its start to near its end.
  expect(Math.min(...refreshes) - WINDOW_START).toBeLessThan(0.05 * WINDOW);
  expect(WINDOW_END - Math.max(...refreshes)).toBeLessThan(0.05 * WINDOW);
  // And no instant is shared by more than a few managers (a fleet in step would share one);
  // times are whole milliseconds, so a few chance collisions are expected.
  const perInstant = new Map<number, number>();
  for (const t of refreshes) perInstant.set(t, (perInstant.get(t) ?? 0) + 1);
  expect(Math.max(...perInstant.values())).toBeLessThanOrEqual(4);

  await Promise.all(fleet.map(({ manager }) => manager.dispose()));
});
