// The end-to-end demo: ONE token manager, fed by Microsoft Entra ID (`entraId()` over an
// @azure/identity credential), keeps five kinds of Redis connection authenticated while a
// steady workload runs and the tokens rotate every ~10 s:
//   an ioredis client, an ioredis cluster client (3 masters), a node-redis client, a Valkey
//   GLIDE client, and a node-redis pub/sub subscriber.
// Locally everything runs on this machine (identity emulator, token-enforcing Redis over TLS),
// tokens live 20 s, and halfway through the identity provider goes silent for 5 s.
// With --emulate aws the same runs locally against ElastiCache-style IAM authentication instead
// (awsIam(): SigV4-presigned tokens, a server that drops connections after their lifetime); with
// --emulate gcp against Memorystore-style IAM authentication (gcpIam() with Application Default
// Credentials, served by the emulator's metadata server).
// With --azure --host <name> it runs against a real Azure Managed Redis instead.
//
//   node examples/demo/index.mjs [--duration 60] [--emulate entra|aws|gcp]
//                                [--azure --host <name> [--port 10000] [--cluster]]
//
// Exit code: 0 when no command failed, no message was lost and the server closed no connection
// (at token expiry; in AWS mode, at the connection lifetime limit); 1 otherwise; 2 for bad
// flags; 130 when interrupted (Ctrl-C).
import { parseArgs } from "node:util";
import { createTokenManager } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { connectClients } from "./clients.mjs";
import { fingerprint, observeManager, observeReauth } from "./observe.mjs";
import { scheduleOutage } from "./outage.mjs";
import { createView } from "./view.mjs";
import { startWorkload } from "./workload.mjs";

const USAGE = `Usage: npm run demo -- [options]   (or: node examples/demo/index.mjs [options])

  --duration <seconds>  how long the workload runs (default 60)
  --emulate <cloud>     what the local run emulates: entra (Microsoft Entra ID, the
                        default), aws (ElastiCache IAM authentication through awsIam())
                        or gcp (Memorystore IAM authentication through gcpIam())
  --azure               run against a real Azure Managed Redis with DefaultAzureCredential
                        (az login, managed identity, AZURE_* variables, ...) instead of
                        the local identity emulator and token-enforcing Redis
  --host <name>         with --azure: the cache's host name (required)
  --port <n>            with --azure: the port (default 10000)
  --cluster             with --azure: the cache uses the OSS cluster policy; connect cluster clients
  --help                show this help`;

/** What each `--emulate` runs locally. */
const LOCAL_STACKS = {
  entra: {
    what: "the identity emulator and token-enforcing Redis servers",
    start: async () => (await import("./local-stack.mjs")).startLocalStack(),
  },
  aws: {
    what: "token-enforcing Redis servers in AWS mode",
    start: async () => (await import("./local-stack-aws.mjs")).startLocalAwsStack(),
  },
  gcp: {
    what: "the metadata server and token-enforcing Redis servers in GCP mode",
    start: async () => (await import("./local-stack-gcp.mjs")).startLocalGcpStack(),
  },
};

// --- flags ------------------------------------------------------------------------------------

function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "60" },
      emulate: { type: "string", default: "entra" },
      azure: { type: "boolean", default: false },
      host: { type: "string" },
      port: { type: "string", default: "10000" },
      cluster: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const durationS = Number(values.duration);
  if (!Number.isFinite(durationS) || durationS < 10 || durationS > 3600) {
    throw new Error(
      `--duration must be a number of seconds from 10 to 3600, not "${values.duration}"`,
    );
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--port must be a port number, not "${values.port}"`);
  }
  if (values.azure && !values.host) throw new Error("--azure needs --host <cache host name>");
  if (!Object.hasOwn(LOCAL_STACKS, values.emulate)) {
    throw new Error(`--emulate must be entra, aws or gcp, not "${values.emulate}"`);
  }
  if (values.azure && values.emulate !== "entra") {
    throw new Error("--emulate goes with a local run, not with --azure");
  }
  if (
    !values.azure &&
    (values.host || values.cluster || argv.some((a) => a.startsWith("--port")))
  ) {
    throw new Error("--host, --port and --cluster go with --azure");
  }
  return { ...values, durationS, port };
}

let flags;
try {
  flags = parseFlags(process.argv.slice(2));
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

// --- the token manager's options --------------------------------------------------------------
// The defaults suit tokens that live an hour (refresh 5 min ahead, 30 s of jitter, ...). Local
// tokens live 20 s, so everything is scaled down. For a token of L = 20 s (docs/core.md):
//   target = min(0.75 × L, max(L − 8 s, L / 2)) = 12 s after receipt, jitter min(2 s, L / 10) = 2 s
// so each refresh lands 10–12 s into the token's life, 8–10 s before it expires: room for a 5 s
// outage and the retries after it.
const LOCAL_OPTIONS = {
  refreshBeforeExpiryMs: 8_000,
  refreshJitterMs: 2_000,
  minRefreshIntervalMs: 1_000,
  // Each rotation's AUTHs are spread over 2 s (at most half the old token's remaining life).
  reauthSpreadMs: 2_000,
  // A hung token request is abandoned after 2 s, then retried after 250 ms–2 s of backoff.
  fetchTimeoutMs: 2_000,
  retry: { initialDelayMs: 250, maxDelayMs: 2_000, multiplier: 2 },
};
// Real Entra tokens live 60–90 minutes: the defaults apply (so a one-minute run shows the
// token's age and its scheduled refresh, but no rotation).
const AZURE_OPTIONS = {};

// --- run --------------------------------------------------------------------------------------

const tty = process.stdout.isTTY === true;
const durationMs = flags.durationS * 1000;
// Event times are shown relative to the start of the process.
const view = createView({ tty, startedAt: Date.now() });
const log = view.event;

let interrupted = false;
let stopRun = () => {};
let workload;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130); // a second Ctrl-C: leave at once
  interrupted = true;
  // A Ctrl-C in a terminal reaches the whole process group, the local redis-servers too, which
  // shut down at once: stop sending commands now rather than count their failures.
  workload?.halt();
  log("interrupted: shutting down (Ctrl-C again to force)");
  stopRun();
});

let stack;
let manager;
let clients;
const cleanups = [];
try {
  // 1. Where the tokens come from.
  if (!flags.azure) {
    const local = LOCAL_STACKS[flags.emulate];
    log(`starting ${local.what} (TLS, 1 + 3-master cluster)...`);
    stack = await local.start();
  }
  // On Azure, entraId() with no credential uses DefaultAzureCredential.
  manager = createTokenManager(
    stack ? stack.source : entraId(),
    flags.azure ? AZURE_OPTIONS : LOCAL_OPTIONS,
  );
  const observed = observeManager(manager, log, view.relative);
  cleanups.push(observed.unsubscribe);

  // 2. The clients. Their first connect waits for the first token: one fetch serves them all.
  const target = flags.azure
    ? { azure: { host: flags.host, port: flags.port, cluster: flags.cluster } }
    : { standalone: stack.standalone, cluster: stack.cluster };
  let names = new Map();
  const reauth = observeReauth(
    log,
    (library, context) => {
      if (library === "node-redis") return names.get(context.clientId) ?? "node-redis";
      const standalonePort = target.standalone?.port ?? (flags.cluster ? undefined : flags.port);
      return context.serverPort === standalonePort ? "ioredis" : `ioredis cluster`;
    },
    observed.sinceFanOut,
    (flags.azure ? AZURE_OPTIONS : LOCAL_OPTIONS).reauthSpreadMs ?? 5_000,
  );
  cleanups.push(reauth.unsubscribe);
  const clientErrors = [];
  clients = await connectClients(manager, target, (name, error) => {
    clientErrors.push({ name, error });
    log(`client error on ${name}: ${String(error?.message ?? error).split("\n")[0]}`);
  });
  names = clients.names;
  log(
    `connected: ${clients.workers.map((w) => w.name).join(", ")}, and a pub/sub subscriber; ` +
      `token ${fingerprint(manager.peekCredentials()?.password)} for user ${manager.status().username}`,
  );

  // 3. The workload, the outage, the live view.
  const startedAt = Date.now();
  workload = startWorkload(clients, log);
  const outage = stack
    ? scheduleOutage({ faults: stack.faults, manager, startedAt, durationMs, log })
    : undefined;
  view.start(() => ({
    runS: (Date.now() - startedAt) / 1000,
    durationS: flags.durationS,
    mode: flags.azure ? `Azure: ${flags.host}:${flags.port}` : stack.mode,
    status: manager.status(),
    token: manager.peekCredentials()?.password,
    rotations: observed.counters.rotations,
    reauths: reauth.total(),
    reauthOf: (name) => reauth.byClient.get(name)?.ok ?? 0,
    serverAuths: stack?.serverStats().authSuccesses,
    outage: outage?.describe(),
    workers: workload.stats,
    messages: workload.messages,
  }));

  await new Promise((resolve) => {
    if (interrupted) return resolve();
    const timer = setTimeout(resolve, durationMs);
    stopRun = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  // 4. Wind down: finish the commands in flight, let the last messages arrive.
  await outage?.cancel();
  await workload.stop();
  view.stop();

  // 5. The summary.
  const status = manager.status();
  const server = stack?.serverStats();
  const m = workload.messages;
  const failed = workload.stats.reduce((sum, w) => sum + w.errors, 0) + m.publishErrors;
  const lost = m.published - m.received;
  const lines = [
    "",
    "Summary",
    `  duration                 ${((Date.now() - startedAt) / 1000).toFixed(1)} s${interrupted ? " (interrupted)" : ""}`,
    `  rotations (new tokens)   ${observed.counters.rotations} after the first token`,
    `  fetches                  ${status.counters.fetches} attempts by the manager, ${status.counters.failures} failed` +
      (stack ? `; ${stack.describeTokens(status.counters.refreshes)}` : ""),
    `  AUTH commands sent       ${[...reauth.byClient].map(([name, n]) => `${name} ${n.ok}${n.refused ? ` (${n.refused} refused)` : ""}`).join(", ") || "none"}`,
  ];
  if (server) {
    lines.push(
      `  AUTHs accepted by Redis  ${server.authSuccesses} (handshakes and re-AUTHs), ${server.authRejected} rejected`,
      `  ${server.closedWhen.padEnd(24)} ${server.closed}`,
    );
  }
  if (outage) {
    const r = outage.report;
    lines.push(
      r.recoveredAt
        ? `  outage                   ${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s, ${r.failedAttempts} failed attempts, new token ${r.recoveredAt - r.endedAt} ms after it ended`
        : `  outage                   ${r.state}`,
    );
  }
  for (const w of workload.stats) {
    lines.push(`  ${w.name.padEnd(24)} ${w.ops} commands, ${w.errors} failed`);
  }
  lines.push(
    `  pub/sub                  ${m.published} published, ${m.received} received, ${Math.max(0, lost)} lost, ${m.publishErrors} publish failures`,
    `  client errors            ${clientErrors.length}`,
  );
  const ok = failed === 0 && lost <= 0 && (server?.closed ?? 0) === 0;
  lines.push("", ok ? "OK: no command failed." : "FAILED: see above.");
  console.log(lines.join("\n"));
  process.exitCode = interrupted ? 130 : ok ? 0 : 1;
} catch (error) {
  view.stop();
  if (interrupted) {
    console.error("interrupted during startup");
    process.exitCode = 130;
  } else {
    console.error(`\nThe demo could not run: ${error?.stack ?? error}`);
    if (error?.name === "RedisServerNotFoundError") {
      console.error("redis-server is needed for the local demo: run `npm run setup` first.");
    }
    process.exitCode = 1;
  }
} finally {
  // 6. Clean shutdown: clients first (they unsubscribe from the manager), then the manager,
  // then the servers. No process.exit(): the process ends by itself once nothing is left.
  await clients?.close();
  await manager?.dispose();
  for (const cleanup of cleanups) cleanup();
  await stack?.stop();
  // Should anything still hold the event loop, say so rather than hang (unref'd: it does not
  // keep the process alive itself).
  setTimeout(() => {
    console.error("shutdown did not finish within 10 s; exiting");
    process.exit(1);
  }, 10_000).unref();
}
