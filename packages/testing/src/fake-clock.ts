// The fake clock lives in the core (`@redis-credentials/core/testing`), whose own unit tests use
// it and must not depend on this package; it stays exported here for users of this package.
export {
  createFakeClock,
  DEFAULT_FAKE_CLOCK_START,
  FakeClock,
  FakeClockLoopError,
  type FakeClockOptions,
  flushPromises,
} from "@redis-credentials/core/testing";
