import { runCli } from "./run-cli";

// The `redis-credentials` command: the engine does the work; this only hands it the process's
// arguments, streams and environment, and exits with its status once the output is written
// (a credential library's keep-alive connections must not hold the process open).
const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.stdout.write("", () => process.stderr.write("", () => process.exit(status)));
