/**
 * `@redis-credentials/core/testing`: test doubles for code built on the core, kept out of the main
 * entry so that production bundles never carry them.
 */
export {
  createFakeClock,
  DEFAULT_FAKE_CLOCK_START,
  FakeClock,
  FakeClockLoopError,
  type FakeClockOptions,
  flushPromises,
} from "./fake-clock";
