import { createTokenManager } from "../../src";
import { FakeClock } from "../fake-clock";

test("a manager fetches once, schedules a refresh and fans out the next credentials", async () => {
  const clock = new FakeClock();
  let n = 0;
  const source = {
    name: "test",
    fetch: jest.fn(async () => ({
      username: "u",
      password: `token-${++n}`,
      expiresAt: clock.now() + 5_000,
    })),
  };
  const manager = createTokenManager(source, { clock });
  const heard: string[] = [];
  manager.subscribe((c) => {
    heard.push(c.password);
  });
  const [a, b] = await Promise.all([manager.getCredentials(), manager.getCredentials()]);
  expect(a).toBe(b);
  expect(source.fetch).toHaveBeenCalledTimes(1);
  expect(manager.status().nextRefreshAt).toBe(clock.now() + 3_750);
  await clock.advance(3_750);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  await clock.advance(1_000);
  expect(heard).toEqual(["token-2"]);
  await manager.dispose();
});
