// An unhandled rejection anywhere in a test is a bug in the library: fail loudly.
process.on("unhandledRejection", (reason) => {
  throw reason;
});
