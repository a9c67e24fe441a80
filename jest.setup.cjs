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
