// An unhandled rejection anywhere in a test is a bug in the library: fail loudly.
process.on("unhandledRejection", (reason) => {
  throw reason;
});

// No test may reach the internet: every HTTP request leaves this machine only through nock.
// Loopback stays open for the local identity emulator and redis-servers.
const nock = require("nock");
nock.disableNetConnect();
nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost|\[::1\]|::1)(:\d+)?$/.test(host));
// Each test file loads nock afresh; unhook this file's interceptor so the next file's is the only one.
afterAll(() => nock.restore());

// CI only (RC_RETRY_ONCE=1, set by .ci/run): a failed test runs once more. Integration tests time
// tokens that live seconds on a 2-core machine shared by two jest workers, a dozen redis-servers
// and GLIDE's native threads, where a stall of a second or more happens a few times per run.
// Every retry is printed ("LOGGING RETRY ERRORS" with the first failure) and listed by .ci/run's
// summary, so that a flaky test stays visible; a test that fails twice fails the run.
if (process.env.RC_RETRY_ONCE === "1") jest.retryTimes(1, { logErrorsBeforeRetry: true });
