// A child process for the "dies with its parent" tests: starts a redis-server (argv[2] ===
// "process") or a token-enforcing Redis ("token-redis") from the TypeScript sources, prints what
// it started, then waits to be killed. Compiles TypeScript with @swc/core.
const { readFileSync } = require("node:fs");
const { transformSync } = require("@swc/core");

require.extensions[".ts"] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, "utf8"), {
    filename,
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "commonjs" },
  });
  module._compile(code, filename);
};

async function main() {
  if (process.argv[2] === "token-redis") {
    const { startTokenRedis } = require("../../src/token-redis.ts");
    const { createTokenIssuer } = require("../../src/token-issuer.ts");
    const redis = await startTokenRedis({ identity: createTokenIssuer() });
    return { port: redis.port };
  }
  const { startRedisServer } = require("../../src/redis-process.ts");
  const redis = await startRedisServer({ password: "child-secret" });
  return { pid: redis.pid, dir: redis.dir, port: redis.port };
}

main().then((started) => {
  process.stdout.write(`${JSON.stringify(started)}\n`);
  setInterval(() => {}, 1000);
});
